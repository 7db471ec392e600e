package io.celluler.network.p2p;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.celluler.network.engine.Blacklist;
import io.celluler.network.engine.EnvelopeVerifier;
import io.celluler.network.engine.Envelopes;
import io.celluler.network.engine.RoutingTable;
import io.celluler.network.engine.Verdict;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.DeliveryAck;
import io.celluler.proto.p2p.v1.GoodbyeReason;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.Priority;
import io.celluler.proto.p2p.v1.RejectReason;
import io.celluler.proto.p2p.v1.RouteAdvertisement;
import io.celluler.proto.p2p.v1.RouteEntry;
import io.grpc.Status;
import io.grpc.StatusException;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Every envelope in and out of this cell (issue 3 §3, §5). Received envelopes are rate-limited per link,
 * deduplicated (broadcasts), verified, checked against the blacklist, then delivered here, relayed towards their
 * destination or, for broadcasts, delivered and flooded on with a lower hop count. Rejects are acknowledged with
 * their reason, counted, and held against the link's peer (too many: blacklisted and cut off).
 *
 * <p>Outgoing envelopes go on the direct link when there is one, otherwise to the next hop of the
 * {@link RoutingTable} (distance vector over the links, advertised on {@code p2p.routes}), otherwise over a new
 * direct link to the cell's known address. Acknowledgements travel back hop by hop, so a sender that waits for
 * one learns that the destination itself accepted the envelope; a retry of the same envelope is recognised by
 * the destination and acknowledged without delivering twice.
 */
@Component
public class Router implements Links.Handler {

    private static final Logger log = LoggerFactory.getLogger(Router.class);

    public static final String MEMBERSHIP_TOPIC = "p2p.membership";
    public static final String ROUTES_TOPIC = "p2p.routes";

    /** Receives the envelopes of one internal ({@code p2p.*}) topic, from a direct neighbour only. */
    public interface Inbox {
        void receive(Link from, CellMessage message);
    }

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final Links links;
    private final NetworkStats stats;
    private final Clock clock = Clock.systemUTC();
    private final SecureRandom random = new SecureRandom();
    private final EnvelopeVerifier verifier;
    private final Blacklist blacklist;
    /** Why and since when each blacklisted cell is (the engine keeps only until when). */
    private final Map<String, BanNote> banNotes = new ConcurrentHashMap<>();
    private final RoutingTable table;
    private final Map<String, Inbox> internal = new ConcurrentHashMap<>();
    private final Endpoints endpoints;
    /** Sends waiting for an acknowledgement: from the link the envelope went out on, and no other. */
    private final Map<String, PendingAck> pendingAcks = new ConcurrentHashMap<>();
    /** Envelopes relayed and not yet acknowledged downstream: where the acknowledgement goes back to. */
    private final Map<String, Relay> relaying = new ConcurrentHashMap<>();
    private final Recent<Boolean> seenBroadcasts;
    /** What became of recent envelopes for this cell (delivered, or the reject): a retry gets the same answer. */
    private final Recent<RejectReason> outcomes;
    private final Recent<Boolean> forwarded;
    private final ScheduledExecutorService timers;
    private volatile Function<String, String> addressBook = id -> null;
    private volatile Function<String, String> memberAt = address -> null;

    private record PendingAck(CompletableFuture<DeliveryAck> future, Link via) {
    }

    private record Relay(Link upstream, Link downstream, long atMillis) {
    }

    /** Route advertisements: entries accepted from one neighbour at most, and told to one at most. */
    static final int MAX_ADVERTISED_ROUTES = 4096;

    public Router(CellIdentity identity, NetworkProperties properties, Links links, NetworkStats stats) {
        this.identity = identity;
        this.properties = properties;
        this.links = links;
        this.stats = stats;
        this.verifier = new EnvelopeVerifier(new EnvelopeVerifier.Limits(properties.replayWindow().toMillis(),
                properties.nonceCacheCapacity(), properties.maxEnvelopeBytes(), properties.maxPayloadBytes()));
        this.blacklist = new Blacklist(new Blacklist.Policy(properties.blacklistThreshold(),
                properties.blacklistWindow().toMillis(), properties.blacklistBan().toMillis(), 10_000));
        this.table = new RoutingTable(identity.cellId(), properties.routing().maxHops());
        int dedup = properties.routing().dedupCapacity();
        this.seenBroadcasts = new Recent<>(dedup);
        this.outcomes = new Recent<>(dedup);
        this.forwarded = new Recent<>(dedup);
        this.endpoints = new Endpoints(this, clock);
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "p2p-router");
            t.setDaemon(true);
            return t;
        });
        long advertise = properties.routing().advertiseInterval().toMillis();
        timers.scheduleWithFixedDelay(this::advertiseAll, advertise, advertise, TimeUnit.MILLISECONDS);
        long window = properties.replayWindow().toMillis();
        timers.scheduleWithFixedDelay(() -> {
            long now = clock.millis();
            relaying.values().removeIf(r -> r.upstream().isClosed() || now - r.atMillis() > window);
            endpoints.expire();
        }, 1, 1, TimeUnit.SECONDS);
        internal.put(ROUTES_TOPIC, this::routes);
        links.handler(this);
        links.gate(peer -> {
            if (isBlacklisted(peer)) {
                stats.rejected(RejectReason.REJECT_REASON_BLACKLISTED);
                return Status.PERMISSION_DENIED.withDescription("cell " + peer + " is blacklisted");
            }
            return null;
        });
    }

    public String selfId() {
        return identity.cellId();
    }

    public Endpoints endpoints() {
        return endpoints;
    }

    public NetworkStats stats() {
        return stats;
    }

    /**
     * Where membership says cells listen: {@code cellId → host:port} and back. Claims, not proofs: a dial to such
     * an address requires the cell id it is for.
     */
    public void addressBook(Function<String, String> book, Function<String, String> memberAt) {
        this.addressBook = book;
        this.memberAt = memberAt;
    }

    public void registerInternal(String topic, Inbox inbox) {
        internal.put(topic, inbox);
    }

    // ---- links ----------------------------------------------------------------------------------------

    @Override
    public void linkUp(Link link) {
        synchronized (table) {
            table.linkUp(link.peerCellId());
        }
        advertiseTo(link);
        timers.schedule(this::advertiseAll, 50, TimeUnit.MILLISECONDS);
    }

    @Override
    public void linkDown(Link link) {
        synchronized (table) {
            table.linkDown(link.peerCellId());
        }
        timers.schedule(this::advertiseAll, 50, TimeUnit.MILLISECONDS);
    }

    private void advertiseAll() {
        try {
            for (Link link : links.all()) {
                advertiseTo(link);
            }
        } catch (RuntimeException e) {
            log.warn("route advertisement failed", e);
        }
    }

    private void advertiseTo(Link link) {
        Map<String, Integer> routes;
        synchronized (table) {
            routes = table.advertisementFor(link.peerCellId());
        }
        RouteAdvertisement.Builder ad = RouteAdvertisement.newBuilder();
        routes.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(MAX_ADVERTISED_ROUTES)
                .forEach(e -> ad.addRoutes(RouteEntry.newBuilder().setCellId(e.getKey()).setHops(e.getValue())));
        sendOnLink(link, seal(MessageKind.MESSAGE_KIND_DIRECT, ROUTES_TOPIC, link.peerCellId(), ad.build().toByteString(),
                Priority.PRIORITY_CONTROL, 1, null));
    }

    private void routes(Link from, CellMessage m) {
        try {
            RouteAdvertisement ad = RouteAdvertisement.parseFrom(m.getPayload());
            if (ad.getRoutesCount() > MAX_ADVERTISED_ROUTES) {
                reject(from, m, RejectReason.REJECT_REASON_MALFORMED, true);
                return;
            }
            Map<String, Integer> routes = new LinkedHashMap<>();
            int maxHops = properties.routing().maxHops();
            for (RouteEntry e : ad.getRoutesList()) {
                // hops is unsigned on the wire: 2^31 and more read negative here
                if (e.getHops() <= 0 || e.getHops() >= maxHops || !io.celluler.core.hash.Sha256.isCanonicalHex(e.getCellId())) {
                    reject(from, m, RejectReason.REJECT_REASON_MALFORMED, true);
                    return;
                }
                routes.put(e.getCellId(), e.getHops());
            }
            synchronized (table) {
                table.advertisement(from.peerCellId(), routes);
            }
        } catch (InvalidProtocolBufferException e) {
            reject(from, m, RejectReason.REJECT_REASON_MALFORMED, true);
        }
    }

    /** A link is in use (not idle) while messages other than route advertisements go either way. */
    private static void touch(Link link, String topic, long now) {
        if (!ROUTES_TOPIC.equals(topic)) {
            link.lastMessageMillis = now;
        }
    }

    /** The routing table: destination → next hop and hops. */
    public Map<String, RoutingTable.Route> routingTable() {
        synchronized (table) {
            return table.routes();
        }
    }

    // ---- receiving --------------------------------------------------------------------------------------

    @Override
    public void envelope(Link link, CellMessage m) {
        long now = clock.millis();
        if (!link.tryReceiveMessage(System.nanoTime())) {
            reject(link, m, RejectReason.REJECT_REASON_RATE_LIMITED, false);
            return;
        }
        boolean broadcast = m.getKind() == MessageKind.MESSAGE_KIND_BROADCAST;
        if (broadcast && seenBroadcasts.contains(m.getMessageId())) {
            stats.duplicate();
            return;
        }
        Verdict verdict = verifier.verify(m, now);
        if (!verdict.accepted()) {
            if (verdict.reason() == RejectReason.REJECT_REASON_REPLAYED_NONCE) {
                // the same signed envelope again: a broadcast over a second path, or a sender's retry
                if (broadcast) {
                    stats.duplicate();
                    return;
                }
                RejectReason before = outcomes.get(m.getMessageId());
                if (before != null) {
                    stats.duplicate();
                    ack(link, m.getMessageId(), before == RejectReason.REJECT_REASON_UNSPECIFIED, before);
                    return;
                }
                if (forwarded.contains(m.getMessageId())) {
                    relay(link, m, m.getSerializedSize());
                    return;
                }
            }
            log.debug("rejected from {}: {} {}", link, verdict.reason(), verdict.detail());
            reject(link, m, verdict.reason(), faultOf(link, m, verdict.reason()));
            return;
        }
        if (isBlacklisted(m.getSourceCellId())) {
            reject(link, m, RejectReason.REJECT_REASON_BLACKLISTED, false);
            return;
        }
        int size = m.getSerializedSize();
        touch(link, m.getTopic(), now);
        link.messagesIn.increment();
        link.bytesIn.add(size);
        stats.in(m.getTopic(), size);
        if (broadcast) {
            if (!seenBroadcasts.add(m.getMessageId(), Boolean.TRUE)) {
                stats.duplicate();
                return;
            }
            endpoints.deliver(m, true, now);
            flood(m, link);
        } else if (m.getDestinationCellId().equals(identity.cellId())) {
            deliver(link, m, now);
        } else {
            relay(link, m, size);
        }
    }

    /**
     * Whether a reject is the link's peer's fault. What any cell can check without state (format, size,
     * signature) the peer should have checked before forwarding; freshness and replays depend on this cell's
     * clock and cache, so they count only against the cell that signed the envelope.
     */
    private static boolean faultOf(Link link, CellMessage m, RejectReason reason) {
        return switch (reason) {
            case REJECT_REASON_MALFORMED, REJECT_REASON_BAD_SIGNATURE, REJECT_REASON_OVERSIZED,
                    REJECT_REASON_UNSUPPORTED_VERSION -> true;
            case REJECT_REASON_STALE_TIMESTAMP -> m.getSourceCellId().equals(link.peerCellId());
            default -> false;
        };
    }

    private void deliver(Link link, CellMessage m, long now) {
        String id = m.getMessageId();
        if (m.getTopic().startsWith("p2p.")) {
            Inbox inbox = internal.get(m.getTopic());
            if (inbox == null || !m.getSourceCellId().equals(link.peerCellId())) {
                reject(link, m, RejectReason.REJECT_REASON_UNKNOWN_TOPIC, false);
            } else {
                inbox.receive(link, m);
            }
            return;
        }
        switch (m.getKind()) {
            case MESSAGE_KIND_RESPONSE -> {
                outcomes.put(id, RejectReason.REJECT_REASON_UNSPECIFIED);
                ack(link, id, true, RejectReason.REJECT_REASON_UNSPECIFIED);
                endpoints.response(m);
            }
            case MESSAGE_KIND_REQUEST -> {
                outcomes.put(id, RejectReason.REJECT_REASON_UNSPECIFIED);
                ack(link, id, true, RejectReason.REJECT_REASON_UNSPECIFIED);
                endpoints.request(m);
            }
            default -> {
                if (endpoints.deliver(m, false, now) == 0) {
                    outcomes.put(id, RejectReason.REJECT_REASON_UNKNOWN_TOPIC);
                    reject(link, m, RejectReason.REJECT_REASON_UNKNOWN_TOPIC, false);
                } else {
                    outcomes.put(id, RejectReason.REJECT_REASON_UNSPECIFIED);
                    ack(link, id, true, RejectReason.REJECT_REASON_UNSPECIFIED);
                }
            }
        }
    }

    private void relay(Link from, CellMessage m, int size) {
        String id = m.getMessageId();
        // remembered first: a retry after a NO_ROUTE is judged again, not taken for a replay
        forwarded.add(id, Boolean.TRUE);
        if (m.getTtl() <= 1) {
            reject(from, m, RejectReason.REJECT_REASON_TTL_EXPIRED, false);
            return;
        }
        if (m.getRelayPathList().contains(identity.cellId())) {
            reject(from, m, RejectReason.REJECT_REASON_NO_ROUTE, false);
            return;
        }
        Link next = nextHop(m.getDestinationCellId());
        if (next == null || next == from) {
            reject(from, m, RejectReason.REJECT_REASON_NO_ROUTE, false);
            return;
        }
        CellMessage onward = m.toBuilder().setTtl(m.getTtl() - 1).addRelayPath(identity.cellId()).build();
        if (onward.getSerializedSize() > properties.maxEnvelopeBytes()) {
            reject(from, m, RejectReason.REJECT_REASON_OVERSIZED, false);
            return;
        }
        relaying.put(id, new Relay(from, next, clock.millis()));
        if (!next.send(LinkFrame.newBuilder().setMessage(onward).build(), Link.lane(m.getPriority()))) {
            relaying.remove(id);
            reject(from, m, RejectReason.REJECT_REASON_QUEUE_FULL, false);
            return;
        }
        next.messagesOut.increment();
        next.bytesOut.add(size);
        stats.relayed();
    }

    private void flood(CellMessage m, Link from) {
        if (m.getTtl() <= 1) {
            return;
        }
        CellMessage onward = m.toBuilder().setTtl(m.getTtl() - 1).addRelayPath(identity.cellId()).build();
        if (onward.getSerializedSize() > properties.maxEnvelopeBytes()) {
            return;
        }
        LinkFrame frame = LinkFrame.newBuilder().setMessage(onward).build();
        for (Link link : links.all()) {
            String peer = link.peerCellId();
            if (link != from && !peer.equals(m.getSourceCellId()) && !m.getRelayPathList().contains(peer)) {
                sendOnLink(link, frame, m.getTopic(), onward.getSerializedSize(), Link.lane(m.getPriority()));
            }
        }
    }

    @Override
    public void ack(Link link, DeliveryAck ack) {
        PendingAck waiting = pendingAcks.get(ack.getMessageId());
        if (waiting != null && waiting.via() == link && pendingAcks.remove(ack.getMessageId(), waiting)) {
            waiting.future().complete(ack);
            return;
        }
        Relay relay = relaying.get(ack.getMessageId());
        if (relay != null && relay.downstream() == link && relaying.remove(ack.getMessageId(), relay)) {
            relay.upstream().send(LinkFrame.newBuilder().setAck(ack).build(), Link.LANE_LINK);
        }
    }

    private void ack(Link link, String messageId, boolean delivered, RejectReason reason) {
        link.send(LinkFrame.newBuilder().setAck(DeliveryAck.newBuilder().setMessageId(messageId)
                .setDelivered(delivered).setRejectReason(reason)).build(), Link.LANE_LINK);
    }

    /** Drops an envelope: counted by reason, acknowledged as rejected, held against the link's peer if asked. */
    private void reject(Link link, CellMessage m, RejectReason reason, boolean againstPeer) {
        stats.rejected(reason);
        if (m.getKind() != MessageKind.MESSAGE_KIND_BROADCAST) {
            ack(link, m.getMessageId(), false, reason);
        }
        if (againstPeer) {
            boolean banned;
            long now = clock.millis();
            synchronized (blacklist) {
                banned = blacklist.recordReject(link.peerCellId(), now);
            }
            if (banned) {
                banNotes.put(link.peerCellId(), new BanNote("too many bad messages (" + properties.blacklistThreshold()
                        + " in " + properties.blacklistWindow() + ")", false, now));
                log.warn("cell {} blacklisted for {}: too many bad messages", link.peerCellId(), properties.blacklistBan());
                links.disconnect(link.peerCellId(), GoodbyeReason.GOODBYE_REASON_BLACKLISTED, "too many bad messages",
                        Status.PERMISSION_DENIED.withDescription("blacklisted: too many bad messages"));
            }
        }
    }

    // ---- sending ----------------------------------------------------------------------------------------

    /** Signs an envelope from this cell. {@code extra} sets the kind-specific fields (or is null). */
    public CellMessage seal(MessageKind kind, String topic, String destination, ByteString payload, Priority priority,
            int ttl, java.util.function.Consumer<CellMessage.Builder> extra) {
        byte[] nonce = new byte[Envelopes.NONCE_BYTES];
        random.nextBytes(nonce);
        Instant now = clock.instant();
        CellMessage.Builder b = CellMessage.newBuilder().setKind(kind).setTopic(topic)
                .setDestinationCellId(destination == null ? "" : destination).setPayload(payload)
                .setTimestamp(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setNonce(ByteString.copyFrom(nonce)).setPriority(priority).setTtl(ttl);
        if (extra != null) {
            extra.accept(b);
        }
        return Envelopes.seal(b, identity);
    }

    private boolean sendOnLink(Link link, CellMessage m) {
        return sendOnLink(link, LinkFrame.newBuilder().setMessage(m).build(), m.getTopic(), m.getSerializedSize(),
                Link.lane(m.getPriority()));
    }

    private boolean sendOnLink(Link link, LinkFrame frame, String topic, int size, int lane) {
        if (!link.send(frame, lane)) {
            return false;
        }
        touch(link, topic, clock.millis());
        link.messagesOut.increment();
        link.bytesOut.add(size);
        stats.out(topic, size);
        return true;
    }

    /** Sends an internal message to the cell at {@code address} over a direct link (dialled if need be). */
    public void sendDirect(String address, String topic, ByteString payload) {
        String id = links.cellAt(address);
        if (id == null) {
            id = memberAt.apply(address);
        }
        Link link = id == null ? null : links.get(id);
        if (link != null) {
            sendOnLink(link, seal(MessageKind.MESSAGE_KIND_DIRECT, topic, link.peerCellId(), payload,
                    Priority.PRIORITY_CONTROL, 1, null));
        } else if (!links.backingOff(address) && !links.denied(address) && !links.denied(id)) {
            links.dial(address, id).thenAccept(l -> sendOnLink(l, seal(MessageKind.MESSAGE_KIND_DIRECT, topic,
                    l.peerCellId(), payload, Priority.PRIORITY_CONTROL, 1, null)));
        }
    }

    private Link nextHop(String destination) {
        Link direct = links.get(destination);
        if (direct != null && !direct.isClosed()) {
            return direct;
        }
        RoutingTable.Route route;
        synchronized (table) {
            route = table.route(destination);
        }
        return route == null ? null : links.get(route.nextHop());
    }

    /**
     * Hands an envelope this cell signed to the first hop: the direct link, the routing table's next hop, or a
     * new direct link to the destination's known address (blocking up to the handshake timeout). Returns the
     * hops the route takes (1 = direct).
     */
    /** Where an envelope went: the link of the first hop, and the hops of the route. */
    record Dispatched(Link link, int hops) {
    }

    Dispatched dispatch(CellMessage m) throws StatusException {
        String destination = m.getDestinationCellId();
        Link link = links.get(destination);
        int hops = 1;
        if (link == null) {
            RoutingTable.Route route;
            synchronized (table) {
                route = table.route(destination);
            }
            String address = addressBook.apply(destination);
            if (route != null) {
                link = links.get(route.nextHop());
                hops = route.hops();
                if (address != null && !links.denied(address) && !links.denied(destination)) {
                    // relayed for now; a direct link for the next messages
                    links.dial(address, destination);
                }
            }
            if (link == null && address != null) {
                try {
                    link = links.dial(address, destination).get(properties.links().handshakeTimeout().toMillis() + 500,
                            TimeUnit.MILLISECONDS);
                    hops = 1;
                } catch (ExecutionException e) {
                    log.debug("no direct link to {}: {}", destination, e.getCause().getMessage());
                } catch (TimeoutException e) {
                    log.debug("no direct link to {} in time", destination);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw Status.CANCELLED.withDescription("interrupted").asException();
                }
            }
        }
        if (link == null) {
            throw Status.UNAVAILABLE.withDescription("no route to cell " + destination).asException();
        }
        if (!sendOnLink(link, m)) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the " + m.getPriority() + " queue towards cell "
                    + destination + " is full; retry later").asException();
        }
        return new Dispatched(link, hops);
    }

    /**
     * Hands an envelope to its next hop if one is linked now, without waiting for anything; false when that
     * would need a dial or the lane is full (the caller then uses {@link #send}).
     */
    boolean dispatchIfRouted(CellMessage m) {
        // (no acknowledgement awaited: a lost response makes the caller's deadline expire)
        Link next = nextHop(m.getDestinationCellId());
        return next != null && sendOnLink(next, m);
    }

    /** The outcome of a send. */
    public record Sent(String messageId, boolean acknowledged, int hops) {
    }

    /**
     * Sends an envelope and, when {@code waitForAck}, waits for the destination's acknowledgement, retrying (same
     * envelope, possibly another route) with doubling waits until {@code deadlineNanos}. Fails with the reject's
     * status when the destination refuses it for good.
     */
    public Sent send(CellMessage m, boolean waitForAck, long deadlineNanos) throws StatusException {
        if (!waitForAck) {
            return new Sent(m.getMessageId(), false, dispatch(m).hops());
        }
        long attempt = properties.routing().ackTimeout().toNanos();
        StatusException last = null;
        int hops = 0;
        while (true) {
            long remaining = deadlineNanos - System.nanoTime();
            if (remaining <= 0) {
                throw last != null ? last : Status.DEADLINE_EXCEEDED
                        .withDescription("no acknowledgement from cell " + m.getDestinationCellId()).asException();
            }
            CompletableFuture<DeliveryAck> ack = new CompletableFuture<>();
            PendingAck pending = null;
            try {
                Dispatched first = dispatchWaiting(m, ack);
                pending = pendingAcks.get(m.getMessageId());
                hops = first.hops();
                DeliveryAck a = ack.get(Math.min(attempt, remaining), TimeUnit.NANOSECONDS);
                RejectReason reason = a.getRejectReason();
                if (reason == RejectReason.REJECT_REASON_UNSPECIFIED && a.getDelivered()) {
                    return new Sent(m.getMessageId(), true, hops);
                }
                if (reason == RejectReason.REJECT_REASON_UNSPECIFIED) {
                    // a relay that says it only forwarded it: not the destination's answer; ask again
                    last = Status.DEADLINE_EXCEEDED.withDescription("no acknowledgement from cell "
                            + m.getDestinationCellId()).asException();
                } else {
                    last = statusOf(reason, m.getDestinationCellId()).asException();
                    if (!retryable(reason)) {
                        throw last;
                    }
                }
            } catch (StatusException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE
                        && e.getStatus().getCode() != Status.Code.RESOURCE_EXHAUSTED) {
                    throw e;
                }
                last = e;
            } catch (TimeoutException e) {
                last = Status.DEADLINE_EXCEEDED.withDescription("no acknowledgement from cell "
                        + m.getDestinationCellId() + " within the deadline").asException();
            } catch (ExecutionException e) {
                throw Status.INTERNAL.withCause(e.getCause()).asException();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("interrupted").asException();
            } finally {
                if (pending != null) {
                    pendingAcks.remove(m.getMessageId(), pending);
                }
            }
            attempt = Math.min(attempt * 2, TimeUnit.SECONDS.toNanos(5));
            sleepNanos(Math.min(TimeUnit.MILLISECONDS.toNanos(50), Math.max(0, deadlineNanos - System.nanoTime())));
        }
    }

    /**
     * Dispatches {@code m} with its acknowledgement awaited from the first hop's link. The pending entry goes in
     * before the frame is queued; the link is only known once routed, so the entry is made for the route's link
     * and replaced if dispatch picked another.
     */
    private Dispatched dispatchWaiting(CellMessage m, CompletableFuture<DeliveryAck> ack) throws StatusException {
        Link expected = nextHop(m.getDestinationCellId());
        if (expected != null) {
            pendingAcks.put(m.getMessageId(), new PendingAck(ack, expected));
        }
        Dispatched d = dispatch(m);
        if (d.link() != expected) {
            pendingAcks.put(m.getMessageId(), new PendingAck(ack, d.link()));
        }
        return d;
    }

    private static void sleepNanos(long nanos) throws StatusException {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted").asException();
        }
    }

    private static boolean retryable(RejectReason reason) {
        return switch (reason) {
            case REJECT_REASON_QUEUE_FULL, REJECT_REASON_NO_ROUTE, REJECT_REASON_RATE_LIMITED, REJECT_REASON_TTL_EXPIRED -> true;
            default -> false;
        };
    }

    static Status statusOf(RejectReason reason, String destination) {
        return switch (reason) {
            case REJECT_REASON_UNKNOWN_TOPIC -> Status.NOT_FOUND.withDescription(
                    "cell " + destination + " has no subscriber for this topic");
            case REJECT_REASON_BLACKLISTED -> Status.PERMISSION_DENIED.withDescription(
                    "refused: this cell is blacklisted on the way to " + destination);
            case REJECT_REASON_QUEUE_FULL, REJECT_REASON_RATE_LIMITED -> Status.RESOURCE_EXHAUSTED.withDescription(
                    reason.name().substring("REJECT_REASON_".length()) + " on the way to " + destination);
            case REJECT_REASON_NO_ROUTE, REJECT_REASON_TTL_EXPIRED -> Status.UNAVAILABLE.withDescription(
                    "no route to cell " + destination + " (" + reason.name().substring("REJECT_REASON_".length()) + ")");
            default -> Status.INTERNAL.withDescription("cell " + destination + " rejected the envelope: " + reason);
        };
    }

    /** Floods a broadcast this cell signed to every link; returns how many took it. */
    public int broadcast(CellMessage m) {
        seenBroadcasts.add(m.getMessageId(), Boolean.TRUE);
        int n = 0;
        LinkFrame frame = LinkFrame.newBuilder().setMessage(m).build();
        for (Link link : links.all()) {
            if (sendOnLink(link, frame, m.getTopic(), m.getSerializedSize(), Link.lane(m.getPriority()))) {
                n++;
            }
        }
        return n;
    }

    // ---- blacklist --------------------------------------------------------------------------------------

    public boolean isBlacklisted(String cellId) {
        synchronized (blacklist) {
            return blacklist.isBlacklisted(cellId, clock.millis());
        }
    }

    /** An operator's ban: links closed and refused, messages dropped (also relayed ones). */
    public void ban(String cellId, long untilMillis, String reason) {
        long now = clock.millis();
        synchronized (blacklist) {
            blacklist.ban(cellId, now, untilMillis);
        }
        banNotes.put(cellId, new BanNote("manual: " + reason, true, now));
        links.disconnect(cellId, GoodbyeReason.GOODBYE_REASON_BLACKLISTED, reason,
                Status.PERMISSION_DENIED.withDescription("blacklisted by the operator"));
    }

    /** False when the cell was not blacklisted. */
    public boolean unban(String cellId) {
        boolean was = isBlacklisted(cellId);
        synchronized (blacklist) {
            blacklist.unban(cellId);
        }
        banNotes.remove(cellId);
        return was;
    }

    /** A blacklist entry as the API shows it. */
    public record Ban(String cellId, String reason, boolean manual, long sinceMillis, long untilMillis) {
    }

    private record BanNote(String reason, boolean manual, long sinceMillis) {
    }

    private static final BanNote NO_NOTE = new BanNote("", false, 0);

    public java.util.List<Ban> blacklist() {
        Map<String, Long> banned;
        synchronized (blacklist) {
            banned = blacklist.banned(clock.millis());
        }
        return banned.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(e -> {
            BanNote note = banNotes.getOrDefault(e.getKey(), NO_NOTE);
            return new Ban(e.getKey(), note.reason(), note.manual(), note.sinceMillis(), e.getValue());
        }).toList();
    }

    public long banMillis() {
        return properties.blacklistBan().toMillis();
    }

    public NetworkProperties properties() {
        return properties;
    }

    @PreDestroy
    void shutdown() {
        timers.shutdownNow();
        endpoints.close();
    }

    /**
     * Recent message ids, bounded (the oldest are forgotten first), with what this cell noted of each: broadcasts
     * seen, envelopes forwarded, and what became of envelopes for this cell.
     */
    static final class Recent<V> {
        private final Map<String, V> ids;

        Recent(int capacity) {
            this.ids = new LinkedHashMap<>(1024, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                    return size() > capacity;
                }
            };
        }

        /** Notes {@code id} unless already noted; false when it was. */
        synchronized boolean add(String id, V value) {
            return ids.putIfAbsent(id, value) == null;
        }

        synchronized void put(String id, V value) {
            ids.put(id, value);
        }

        synchronized V get(String id) {
            return ids.get(id);
        }

        synchronized boolean contains(String id) {
            return ids.containsKey(id);
        }
    }
}
