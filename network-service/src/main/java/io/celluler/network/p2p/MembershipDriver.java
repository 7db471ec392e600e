package io.celluler.network.p2p;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.celluler.network.engine.membership.MemberState;
import io.celluler.network.engine.membership.Membership;
import io.celluler.network.engine.membership.MembershipConfig;
import io.celluler.network.engine.membership.Message;
import io.celluler.network.engine.membership.Outbound;
import io.celluler.network.engine.membership.Update;
import io.celluler.proto.p2p.v1.Ack;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.Member;
import io.celluler.proto.p2p.v1.MembershipMessage;
import io.celluler.proto.p2p.v1.Nack;
import io.celluler.proto.p2p.v1.Ping;
import io.celluler.proto.p2p.v1.PingReq;
import io.celluler.proto.p2p.v1.PushPull;
import io.celluler.proto.p2p.v1.RejectReason;
import io.micrometer.core.instrument.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Runs the gossip membership engine ({@link Membership}, SWIM + Lifeguard) over the cell's links (issue 3 §4, §8):
 * one thread ticks it every 10 ms and is the only one to touch it; its messages travel as signed envelopes on
 * topic {@code p2p.membership} over direct links (dialled on demand), and what arrives is handed back to that
 * thread. A member's identity and capabilities ride in the engine's opaque metadata; an update whose public key
 * does not derive to its cell id is dropped. Starts after the P2P listener (it needs its address), joins
 * through the configured seeds, and leaves gracefully on stop.
 */
@Component
public class MembershipDriver implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(MembershipDriver.class);
    static final long TICK_MILLIS = 10;
    /** Messages waiting for the engine's thread at most; more are dropped (gossip tolerates loss). */
    static final int MAX_INBOX = 10_000;

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final Links links;
    private final Router router;
    private final Clock clock = Clock.systemUTC();
    private final ScheduledExecutorService loop;
    private final AtomicInteger[] counts = new AtomicInteger[MemberState.values().length];
    private volatile Membership engine;
    private volatile Map<String, Update> view = Map.of();
    private volatile Map<String, String> idByAddress = Map.of();
    private final AtomicInteger inbox = new AtomicInteger();
    private final Map<String, Long> lastSeen = new java.util.concurrent.ConcurrentHashMap<>();

    public MembershipDriver(CellIdentity identity, NetworkProperties properties, Links links, Router router,
            NetworkStats stats) {
        this.identity = identity;
        this.properties = properties;
        this.links = links;
        this.router = router;
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "membership");
            t.setDaemon(true);
            return t;
        });
        for (MemberState s : MemberState.values()) {
            counts[s.ordinal()] = new AtomicInteger();
            Gauge.builder("celluler.network.members", counts[s.ordinal()], AtomicInteger::get).tag("state", s.name())
                    .description("members this cell sees, by gossip state").register(stats.meters());
        }
        router.registerInternal(Router.MEMBERSHIP_TOPIC, this::receive);
        router.addressBook(id -> {
            Update u = view.get(id);
            return u == null || u.address().isEmpty() ? null : u.address();
        }, address -> idByAddress.get(address));
    }

    @Override
    public void start() {
        String address = links.listenAddress();
        io.celluler.proto.p2p.v1.Hello hello = links.hello(ByteString.EMPTY);
        Member self = Member.newBuilder().setPublicKey(ByteString.copyFrom(identity.publicKey()))
                .setSoftwareVersion(hello.getSoftwareVersion()).addAllCapabilities(hello.getCapabilitiesList()).build();
        // a restarted cell comes back with a higher incarnation than it died with
        long incarnation = clock.millis() / 1000;
        engine = new Membership(MembershipConfig.lan(), identity.cellId(), address, meta(self), incarnation,
                new SplittableRandom());
        List<String> seeds = properties.seeds().stream().filter(s -> !s.equals(address)).toList();
        loop.execute(() -> {
            if (!seeds.isEmpty()) {
                engine.join(seeds);
                log.info("joining the network through {}", seeds);
            }
            refreshView();
        });
        loop.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            engine.tick();
            flush();
        } catch (RuntimeException e) {
            log.warn("membership tick failed", e);
        }
    }

    private void flush() {
        for (Outbound o : engine.drainOutbox()) {
            router.sendDirect(o.address(), Router.MEMBERSHIP_TOPIC, toWire(o.message()).toByteString());
        }
        List<Update> changes = engine.drainChanges();
        if (!changes.isEmpty()) {
            for (Update u : changes) {
                if (!u.id().equals(identity.cellId())) {
                    log.info("member {} at {} is {} (incarnation {})", u.id().substring(0, 12), u.address(), u.state(),
                            u.incarnation());
                }
            }
            refreshView();
        }
    }

    private void refreshView() {
        Map<String, Update> v = new HashMap<>();
        Map<String, String> byAddress = new HashMap<>();
        int[] c = new int[MemberState.values().length];
        for (Update u : engine.members()) {
            v.put(u.id(), u);
            c[u.state().ordinal()]++;
            if (!u.address().isEmpty()) {
                // a claim: dials to it require this cell id (TLS proves it or the dial fails)
                byAddress.put(u.address(), u.id());
            }
        }
        idByAddress = Map.copyOf(byAddress);
        for (MemberState s : MemberState.values()) {
            counts[s.ordinal()].set(c[s.ordinal()]);
        }
        view = Map.copyOf(v);
        lastSeen.keySet().retainAll(v.keySet());
    }

    /** From the router's thread: decode, check, and hand to the engine's thread. */
    private void receive(Link from, CellMessage m) {
        MembershipMessage wire;
        try {
            wire = MembershipMessage.parseFrom(m.getPayload());
        } catch (InvalidProtocolBufferException e) {
            router.stats().rejected(RejectReason.REJECT_REASON_MALFORMED);
            return;
        }
        String fromAddress = from.peerAddresses().isEmpty() ? "" : from.peerAddresses().get(0);
        Message message = fromWire(m.getSourceCellId(), fromAddress, wire);
        if (message == null) {
            router.stats().rejected(RejectReason.REJECT_REASON_MALFORMED);
            return;
        }
        if (inbox.incrementAndGet() > MAX_INBOX) {
            inbox.decrementAndGet();
            router.stats().rejected(RejectReason.REJECT_REASON_RATE_LIMITED);
            return;
        }
        lastSeen.put(m.getSourceCellId(), clock.millis());
        loop.execute(() -> {
            inbox.decrementAndGet();
            Membership e = engine;
            if (e != null) {
                e.receive(fromAddress, message);
                flush();
            }
        });
    }

    // ---- views (any thread) ---------------------------------------------------------------------------

    /** Every member this cell knows, itself included, by cell id. */
    public Map<String, Update> members() {
        return view;
    }

    /** When a membership message from the cell was last received (millis), or null. */
    public Long lastSeen(String cellId) {
        return lastSeen.get(cellId);
    }

    public long incarnation() {
        Membership e = engine;
        return e == null ? 0 : e.incarnation();
    }

    /** What the engine's metadata of a member says: its public key, version and capabilities. */
    public static Member metaOf(Update u) {
        try {
            return Member.parseFrom(Base64.getDecoder().decode(u.meta()));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            return Member.getDefaultInstance();
        }
    }

    /**
     * One discovery round now: a full state exchange with the seeds and a few known members (the engine's join),
     * then, after a moment, the members that were not known before.
     */
    public CompletableFuture<List<Update>> discover() {
        Map<String, Update> before = view;
        CompletableFuture<List<Update>> result = new CompletableFuture<>();
        loop.execute(() -> {
            List<String> targets = new ArrayList<>(properties.seeds());
            view.values().stream().filter(u -> u.state() == MemberState.ALIVE && !u.id().equals(identity.cellId()))
                    .limit(3).forEach(u -> targets.add(u.address()));
            targets.remove(links.listenAddress());
            if (!targets.isEmpty()) {
                engine.join(targets.stream().distinct().toList());
                flush();
            }
            loop.schedule(() -> {
                refreshView();
                result.complete(view.values().stream().filter(u -> !before.containsKey(u.id())).toList());
            }, 500, TimeUnit.MILLISECONDS);
        });
        return result;
    }

    @Override
    public void stop() {
        CompletableFuture<Void> left = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                engine.leave();
                flush();
                left.complete(null);
            });
            left.get(2, TimeUnit.SECONDS);
            // let the LEFT update reach the links before they close
            Thread.sleep(200);
        } catch (Exception e) {
            log.debug("leave did not finish: {}", e.toString());
        }
        loop.shutdownNow();
        engine = null;
    }

    @Override
    public boolean isRunning() {
        return engine != null;
    }

    /** After the P2P listener (it needs its address), before it on stop. */
    @Override
    public int getPhase() {
        return P2pServer.PHASE + 1;
    }

    // ---- wire mapping ---------------------------------------------------------------------------------

    private static String meta(Member identityAndCapabilities) {
        return Base64.getEncoder().encodeToString(identityAndCapabilities.toByteArray());
    }

    static Member toWire(Update u) {
        Member meta = metaOf(u);
        Member.Builder m = Member.newBuilder().setCellId(u.id()).setPublicKey(meta.getPublicKey())
                .setIncarnation(u.incarnation()).setState(io.celluler.proto.p2p.v1.MemberState.forNumber(u.state().ordinal() + 1))
                .setSoftwareVersion(meta.getSoftwareVersion()).addAllCapabilities(meta.getCapabilitiesList());
        if (!u.address().isEmpty()) {
            m.addAddresses(u.address());
        }
        return m.build();
    }

    /** An update from the wire, or null when it does not hold together (its key does not derive to its id). */
    static Update fromWire(Member m) {
        if (m.getPublicKey().size() != 32 || !CellIdentity.cellIdOf(m.getPublicKey().toByteArray()).equals(m.getCellId())) {
            return null;
        }
        int state = m.getState().getNumber();
        if (state < 1 || state > MemberState.values().length) {
            return null;
        }
        Member meta = Member.newBuilder().setPublicKey(m.getPublicKey()).setSoftwareVersion(m.getSoftwareVersion())
                .addAllCapabilities(m.getCapabilitiesList()).build();
        return new Update(m.getCellId(), m.getAddressesCount() == 0 ? "" : m.getAddresses(0), m.getIncarnation(),
                MemberState.values()[state - 1], meta(meta));
    }

    static MembershipMessage toWire(Message message) {
        MembershipMessage.Builder w = MembershipMessage.newBuilder();
        if (!(message instanceof Message.PushPull)) {
            message.updates().forEach(u -> w.addUpdates(toWire(u)));
        }
        switch (message) {
            case Message.Ping p -> w.setPing(Ping.newBuilder().setSeqNo(p.seq()).setTargetCellId(p.target()));
            case Message.PingReq r -> w.setPingReq(PingReq.newBuilder().setSeqNo(r.seq()).setTargetCellId(r.target())
                    .addTargetAddresses(r.targetAddress()).setNackWanted(r.nackWanted()));
            case Message.Ack a -> w.setAck(Ack.newBuilder().setSeqNo(a.seq()).setTargetCellId(a.target()));
            case Message.Nack n -> w.setNack(Nack.newBuilder().setSeqNo(n.seq()).setTargetCellId(n.target()));
            case Message.PushPull pp -> {
                PushPull.Builder state = PushPull.newBuilder().setJoin(pp.join()).setReplyWanted(pp.replyWanted());
                pp.updates().forEach(u -> state.addMembers(toWire(u)));
                w.setPushPull(state);
            }
            case Message.Gossip g -> {
                // updates only
            }
        }
        return w.build();
    }

    /** The engine's message, or null when it is malformed. */
    static Message fromWire(String from, String fromAddress, MembershipMessage w) {
        List<Member> members = w.hasPushPull() ? w.getPushPull().getMembersList() : w.getUpdatesList();
        List<Update> updates = new ArrayList<>(members.size());
        for (Member m : members) {
            Update u = fromWire(m);
            if (u == null) {
                return null;
            }
            updates.add(u);
        }
        return switch (w.getBodyCase()) {
            case PING -> new Message.Ping(from, w.getPing().getSeqNo(), w.getPing().getTargetCellId(), updates);
            case PING_REQ -> w.getPingReq().getTargetAddressesCount() == 0 ? null
                    : new Message.PingReq(from, w.getPingReq().getSeqNo(), w.getPingReq().getTargetCellId(),
                            w.getPingReq().getTargetAddresses(0), w.getPingReq().getNackWanted(), updates);
            case ACK -> new Message.Ack(from, w.getAck().getSeqNo(), w.getAck().getTargetCellId(), updates);
            case NACK -> new Message.Nack(from, w.getNack().getSeqNo(), w.getNack().getTargetCellId(), updates);
            case PUSH_PULL -> new Message.PushPull(from, w.getPushPull().getJoin(), w.getPushPull().getReplyWanted(), updates);
            case BODY_NOT_SET -> new Message.Gossip(from, updates);
        };
    }
}
