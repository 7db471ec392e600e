package io.celluler.network.p2p;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.limits.TokenBucket;
import io.celluler.network.config.NetworkProperties;
import io.celluler.network.engine.Hellos;
import io.celluler.proto.p2p.v1.Capability;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.DeliveryAck;
import io.celluler.proto.p2p.v1.GoodbyeReason;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.Keepalive;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.LinkRequest;
import io.celluler.proto.p2p.v1.LinkResponse;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Every link of this cell (issue 3 §2): accepts links from the P2P listener, dials others (one link per peer,
 * whichever side dialled; a simultaneous dial keeps the link dialled by the lower cell id), and keeps them
 * healthy — keep-alives that also measure the round trip, dead and idle links closed, seeds and
 * operator-connected peers redialled with exponential backoff and jitter, a cap on open links, inbound links
 * rate-limited per remote address, envelopes rate-limited per link, denied peers refused both ways.
 *
 * <p>What arrives on a link after the hello exchange goes to the {@link Handler} (the router).
 */
@Component
public class Links {

    private static final Logger log = LoggerFactory.getLogger(Links.class);
    /** A peer's goodbye may ask this cell to wait before redialling, up to this long. */
    static final long MAX_RETRY_AFTER_MILLIS = 300_000;

    /** What the links report to the router. */
    public interface Handler {
        void linkUp(Link link);

        void linkDown(Link link);

        void envelope(Link link, CellMessage message);

        void ack(Link link, DeliveryAck ack);
    }

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final NetworkProperties.Links limits;
    private final NetworkStats stats;
    private final Clock clock = Clock.systemUTC();
    private final SecureRandom random = new SecureRandom();
    private final CellCertificates.TlsIdentity tls;
    private final String version;
    private final ScheduledExecutorService timers;

    private final Map<String, Link> byPeer = new ConcurrentHashMap<>();
    private final Map<String, String> idByAddress = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Link>> dialing = new ConcurrentHashMap<>();
    private final Map<String, Backoff> backoff = new ConcurrentHashMap<>();
    private final Map<String, TokenBucket> inboundRate = new ConcurrentHashMap<>();
    private final Set<String> persistent = ConcurrentHashMap.newKeySet();
    private volatile Handler handler;
    private volatile java.util.function.Function<String, Status> gate = peer -> null;
    private volatile String listenAddress = "";
    private volatile boolean stopping;

    /** Redial state of one address. */
    private record Backoff(int failures, long notBeforeMillis) {
    }

    public Links(CellIdentity identity, NetworkProperties properties, NetworkStats stats) {
        this.identity = identity;
        this.properties = properties;
        this.limits = properties.links();
        this.stats = stats;
        this.tls = CellCertificates.selfSigned(identity, clock.instant(), P2pServer.CERTIFICATE_VALIDITY);
        String v = Links.class.getPackage().getImplementationVersion();
        this.version = v == null ? "dev" : v;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "p2p-links");
            t.setDaemon(true);
            return t;
        });
        long keepalive = limits.keepaliveInterval().toMillis();
        timers.scheduleWithFixedDelay(this::keepAlive, keepalive, keepalive, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(this::redialPersistent, 500, 500, TimeUnit.MILLISECONDS);
        persistent.addAll(properties.seeds());
    }

    void handler(Handler handler) {
        this.handler = handler;
    }

    /** Asked about each peer before linking: a status refuses the link (the blacklist), null lets it through. */
    void gate(java.util.function.Function<String, Status> gate) {
        this.gate = gate;
    }

    CellCertificates.TlsIdentity tls() {
        return tls;
    }

    void listenAddress(String address) {
        this.listenAddress = address;
    }

    public String listenAddress() {
        return listenAddress;
    }

    public String selfId() {
        return identity.cellId();
    }

    /** This cell's signed hello, with the given nonce or a fresh one. */
    Hello hello(ByteString nonce) {
        if (nonce.isEmpty()) {
            byte[] fresh = new byte[P2pGrpcService.NONCE_BYTES];
            random.nextBytes(fresh);
            nonce = ByteString.copyFrom(fresh);
        }
        Instant now = clock.instant();
        Hello.Builder hello = Hello.newBuilder()
                .setProtocolVersion(Hellos.PROTOCOL_VERSION)
                .setSoftwareVersion(version)
                .setTimestamp(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setNonce(nonce);
        if (!listenAddress.isEmpty()) {
            hello.addListenAddresses(listenAddress);
        }
        properties.advertisedCapabilities().forEach((service, apis) -> hello.addCapabilities(
                Capability.newBuilder().setService(service).addAllApiVersions(apis)));
        return Hellos.seal(hello, identity);
    }

    // ---- views ----------------------------------------------------------------------------------------

    public Link get(String peerCellId) {
        return byPeer.get(peerCellId);
    }

    public Collection<Link> all() {
        return List.copyOf(byPeer.values());
    }

    /** The cell proved (by a dial and its TLS handshake) to listen at {@code address}, or null. */
    public String cellAt(String address) {
        return idByAddress.get(address);
    }

    void learnAddress(String address, String cellId) {
        if (!address.isEmpty() && !cellId.equals(identity.cellId())) {
            idByAddress.put(address, cellId);
        }
    }

    /** True while redials of {@code address} wait (exponential backoff). */
    public boolean backingOff(String address) {
        Backoff b = backoff.get(address);
        return b != null && clock.millis() < b.notBeforeMillis();
    }

    public boolean dialling(String address) {
        return dialing.containsKey(address);
    }

    /** Whether configuration forbids linking with this cell id or address. */
    boolean denied(String cellIdOrAddress) {
        return cellIdOrAddress != null && properties.deniedPeers().contains(cellIdOrAddress);
    }

    private boolean denied(Hello hello) {
        return denied(hello.getCellId()) || hello.getListenAddressesList().stream().anyMatch(this::denied);
    }

    // ---- accepting --------------------------------------------------------------------------------------

    /**
     * A link the P2P listener accepted from {@code peer} (TLS-authenticated). Refuses it right away when the peer
     * is denied, when its address opens links too fast or when there are too many; otherwise waits for its hello.
     */
    StreamObserver<LinkRequest> accept(String peer, SocketAddress remote, ServerCallStreamObserver<LinkResponse> out) {
        long nowNanos = System.nanoTime();
        String host = remote instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : String.valueOf(remote);
        if (inboundRate.size() > 10_000) {
            inboundRate.clear();
        }
        TokenBucket bucket = inboundRate.computeIfAbsent(host,
                h -> new TokenBucket(limits.inboundPerSecond(), limits.inboundBurst(), nowNanos));
        Status refused = gate.apply(peer);
        GoodbyeReason reason = GoodbyeReason.GOODBYE_REASON_TOO_MANY_CONNECTIONS;
        if (refused != null) {
            reason = GoodbyeReason.GOODBYE_REASON_BLACKLISTED;
        } else if (stopping) {
            refused = Status.UNAVAILABLE.withDescription("the cell is shutting down");
            reason = GoodbyeReason.GOODBYE_REASON_SHUTDOWN;
        } else if (denied(peer)) {
            refused = Status.PERMISSION_DENIED.withDescription("links with cell " + peer + " are denied by configuration");
            reason = GoodbyeReason.GOODBYE_REASON_CLOSED;
        } else if (!bucket.tryTake(nowNanos)) {
            refused = Status.RESOURCE_EXHAUSTED.withDescription("too many links opened from " + host + "; retry later");
        } else if (byPeer.size() >= limits.maxLinks() && !byPeer.containsKey(peer)) {
            refused = Status.RESOURCE_EXHAUSTED.withDescription("this cell has its maximum of " + limits.maxLinks() + " links");
        }
        if (refused != null) {
            out.onNext(LinkResponse.newBuilder().setFrame(LinkFrame.newBuilder().setGoodbye(
                    io.celluler.proto.p2p.v1.Goodbye.newBuilder().setReason(reason).setDetail(refused.getDescription())
                            .setRetryAfter(com.google.protobuf.Duration.newBuilder().setSeconds(5)))).build());
            out.onError(refused.asRuntimeException());
            return new Ignore<>();
        }
        return new Inbound(peer, out);
    }

    /** The accepting side of a link: hello first, then frames. */
    private final class Inbound implements StreamObserver<LinkRequest> {
        private final String peer;
        private final ServerCallStreamObserver<LinkResponse> out;
        private volatile Link link;
        private boolean failed;

        Inbound(String peer, ServerCallStreamObserver<LinkResponse> out) {
            this.peer = peer;
            this.out = out;
            timers.schedule(() -> {
                synchronized (this) {
                    if (link == null && !failed) {
                        fail(Status.DEADLINE_EXCEEDED.withDescription("no hello within " + limits.handshakeTimeout()));
                    }
                }
            }, limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
            out.setOnReadyHandler(() -> {
                Link l = link;
                if (l != null) {
                    l.drain();
                }
            });
        }

        @Override
        public void onNext(LinkRequest request) {
            Link l = link;
            if (l != null) {
                frame(l, request.getFrame());
                return;
            }
            synchronized (this) {
                handshake(request);
            }
        }

        private void handshake(LinkRequest request) {
            if (failed || link != null) {
                return;
            }
            LinkFrame frame = request.getFrame();
            if (!frame.hasHello()) {
                fail(Status.INVALID_ARGUMENT.withDescription("the first frame of a link must be a hello"));
                return;
            }
            Hello h = frame.getHello();
            String problem = checkHello(h, peer);
            if (problem != null) {
                fail(Status.PERMISSION_DENIED.withDescription(problem));
                return;
            }
            Link created = new Link(peer, h, null, clock.millis(), out,
                    f -> LinkResponse.newBuilder().setFrame(f).build(), properties.routing().queueCapacity(),
                    messageBucket(), () -> { });
            created.send(LinkFrame.newBuilder().setHello(hello(ByteString.EMPTY)).build(), Link.LANE_LINK);
            link = created;
            if (register(created) == null) {
                failed = true;
            }
        }

        private void fail(Status status) {
            failed = true;
            out.onError(status.asRuntimeException());
        }

        @Override
        public void onError(Throwable t) {
            Link l = link;
            if (l != null) {
                ended(l);
            }
        }

        @Override
        public void onCompleted() {
            Link l = link;
            if (l != null) {
                ended(l);
            } else {
                out.onCompleted();
            }
        }
    }

    /** Why a hello is not acceptable from the cell {@code tlsPeer} proved to be, or null when it is. */
    private String checkHello(Hello h, String tlsPeer) {
        long ts = h.getTimestamp().getSeconds() * 1000 + h.getTimestamp().getNanos() / 1_000_000;
        if (!Hellos.verify(h)) {
            return "the hello's signature does not verify";
        }
        if (!h.getCellId().equals(tlsPeer)) {
            return "the hello is from " + h.getCellId() + " but the TLS certificate from " + tlsPeer;
        }
        if (Math.abs(clock.millis() - ts) > properties.replayWindow().toMillis()) {
            return "the hello's timestamp is outside the window";
        }
        if (denied(h)) {
            return "links with cell " + h.getCellId() + " are denied by configuration";
        }
        if (h.getCellId().equals(identity.cellId())) {
            return "a cell does not link to itself";
        }
        Status refused = gate.apply(h.getCellId());
        return refused == null ? null : refused.getDescription();
    }

    private TokenBucket messageBucket() {
        return new TokenBucket(limits.messagesPerSecond(), limits.messagesBurst(), System.nanoTime());
    }

    // ---- dialling ---------------------------------------------------------------------------------------

    /**
     * A link to the cell at {@code address}: the open one, the dial in progress, or a new dial. Fails with
     * UNAVAILABLE (unreachable, or backing off after failures), PERMISSION_DENIED (denied, or not the expected
     * cell) or DEADLINE_EXCEEDED (handshake too slow). {@code expectedCellId} may be null (a seed by address).
     */
    public CompletableFuture<Link> dial(String address, String expectedCellId) {
        if (stopping) {
            return CompletableFuture.failedFuture(Status.UNAVAILABLE.withDescription("shutting down").asException());
        }
        if (listenAddress.isEmpty()) {
            // a hello without this cell's address would leave the peer unable to answer gossip
            return CompletableFuture.failedFuture(Status.UNAVAILABLE.withDescription("the P2P listener is not up yet")
                    .asException());
        }
        if (denied(address) || denied(expectedCellId)) {
            return CompletableFuture.failedFuture(Status.PERMISSION_DENIED
                    .withDescription("links with " + address + " are denied by configuration").asException());
        }
        String atAddress = idByAddress.get(address);
        if (expectedCellId != null && atAddress != null && !atAddress.equals(expectedCellId)) {
            return CompletableFuture.failedFuture(Status.PERMISSION_DENIED.withDescription(address + " is cell "
                    + atAddress + ", not the expected " + expectedCellId).asException());
        }
        String known = expectedCellId != null ? expectedCellId : atAddress;
        Status refused = known == null ? null : gate.apply(known);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused.asException());
        }
        Link open = known == null ? null : byPeer.get(known);
        if (open != null && !open.isClosed()) {
            return CompletableFuture.completedFuture(open);
        }
        if (address.equals(listenAddress) || identity.cellId().equals(expectedCellId)) {
            return CompletableFuture.failedFuture(Status.INVALID_ARGUMENT
                    .withDescription("that is this cell's own address").asException());
        }
        CompletableFuture<Link> inFlight = dialing.get(address);
        if (inFlight != null) {
            return inFlight;
        }
        Backoff b = backoff.get(address);
        if (b != null && clock.millis() < b.notBeforeMillis()) {
            return CompletableFuture.failedFuture(Status.UNAVAILABLE.withDescription("backing off " + address
                    + " after " + b.failures() + " failed dials; next try in "
                    + (b.notBeforeMillis() - clock.millis()) + " ms").asException());
        }
        if (byPeer.size() >= limits.maxLinks()) {
            return CompletableFuture.failedFuture(Status.RESOURCE_EXHAUSTED
                    .withDescription("this cell has its maximum of " + limits.maxLinks() + " links").asException());
        }
        CompletableFuture<Link> result = new CompletableFuture<>();
        CompletableFuture<Link> raced = dialing.putIfAbsent(address, result);
        if (raced != null) {
            return raced;
        }
        result.whenComplete((link, error) -> {
            dialing.remove(address, result);
            if (error == null) {
                backoff.remove(address);
            } else {
                int failures = b == null ? 1 : b.failures() + 1;
                long wait = Math.min(limits.backoffMax().toMillis(),
                        limits.backoffMin().toMillis() << Math.min(20, failures - 1));
                wait = (long) (wait * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
                backoff.put(address, new Backoff(failures, clock.millis() + wait));
            }
        });
        try {
            startDial(address, expectedCellId, result);
        } catch (RuntimeException | SSLException e) {
            result.completeExceptionally(Status.UNAVAILABLE.withDescription("cannot dial " + address + ": " + e.getMessage())
                    .withCause(e).asException());
        }
        return result;
    }

    private void startDial(String address, String expectedCellId, CompletableFuture<Link> result) throws SSLException {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not host:port: " + address);
        }
        String host = address.substring(0, colon);
        int port = Integer.parseInt(address.substring(colon + 1));
        CellTrustManager trust = new CellTrustManager(expectedCellId, clock);
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, port)
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()
                                .keyManager(tls.privateKey(), tls.certificate()), SslProvider.JDK)
                        .protocols("TLSv1.3").trustManager(trust).build())
                .overrideAuthority("cell")
                .maxInboundMessageSize(properties.maxEnvelopeBytes() + P2pServer.FRAME_HEADROOM)
                .keepAliveTime(limits.keepaliveInterval().toMillis() * 2, TimeUnit.MILLISECONDS)
                .build();
        timers.schedule(() -> {
            if (result.completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription(
                    "no hello from " + address + " within " + limits.handshakeTimeout()).asException())) {
                channel.shutdownNow();
            }
        }, limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        P2PServiceGrpc.newStub(channel).link(new ClientResponseObserver<LinkRequest, LinkResponse>() {
            private ClientCallStreamObserver<LinkRequest> requests;
            private volatile Link link;

            @Override
            public void beforeStart(ClientCallStreamObserver<LinkRequest> requests) {
                this.requests = requests;
                requests.setOnReadyHandler(() -> {
                    Link l = link;
                    if (l != null) {
                        l.drain();
                    }
                });
            }

            @Override
            public void onNext(LinkResponse response) {
                Link l = link;
                if (l != null) {
                    frame(l, response.getFrame());
                    return;
                }
                LinkFrame frame = response.getFrame();
                String problem;
                if (frame.hasGoodbye()) {
                    problem = "refused: " + frame.getGoodbye().getReason() + " " + frame.getGoodbye().getDetail();
                } else if (!frame.hasHello()) {
                    problem = "the first frame was not a hello";
                } else {
                    problem = checkHello(frame.getHello(), trust.verifiedCellId());
                }
                if (problem != null) {
                    result.completeExceptionally(Status.PERMISSION_DENIED.withDescription(address + ": " + problem).asException());
                    requests.cancel(problem, null);
                    channel.shutdownNow();
                    return;
                }
                Hello h = frame.getHello();
                Link created = new Link(h.getCellId(), h, address, clock.millis(), requests,
                        f -> LinkRequest.newBuilder().setFrame(f).build(), properties.routing().queueCapacity(),
                        messageBucket(), () -> {
                            channel.shutdown();
                            // a peer that never ends its side does not keep the connection
                            timers.schedule(channel::shutdownNow, 5, TimeUnit.SECONDS);
                        });
                link = created;
                if (result.isDone()) {
                    // the handshake timed out meanwhile
                    created.close(GoodbyeReason.GOODBYE_REASON_CLOSED, "handshake too slow", null);
                    return;
                }
                learnAddress(address, h.getCellId());
                Link kept = register(created);
                if (kept == null) {
                    result.completeExceptionally(Status.RESOURCE_EXHAUSTED.withDescription(
                            "this cell has its maximum of " + limits.maxLinks() + " links").asException());
                } else {
                    result.complete(kept);
                }
            }

            @Override
            public void onError(Throwable t) {
                Link l = link;
                if (l != null) {
                    ended(l);
                } else if (trust.rejection() != null) {
                    result.completeExceptionally(Status.PERMISSION_DENIED.withDescription(address + ": "
                            + trust.rejection()).asException());
                    channel.shutdownNow();
                } else {
                    Status s = Status.fromThrowable(t);
                    result.completeExceptionally(Status.UNAVAILABLE.withDescription("cannot link to " + address + ": "
                            + s.getCode() + " " + (s.getDescription() == null ? "" : s.getDescription())).withCause(t).asException());
                    channel.shutdownNow();
                }
            }

            @Override
            public void onCompleted() {
                Link l = link;
                if (l != null) {
                    ended(l);
                } else {
                    result.completeExceptionally(Status.UNAVAILABLE.withDescription(address + " closed the link").asException());
                    channel.shutdownNow();
                }
            }
        }).onNext(LinkRequest.newBuilder().setFrame(LinkFrame.newBuilder().setHello(hello(ByteString.EMPTY))).build());
    }

    // ---- both sides -----------------------------------------------------------------------------------

    /**
     * Makes an authenticated link the peer's link. Returns the link kept: this one, or the one already open when
     * a simultaneous dial resolves in its favour; null when the link cap refuses it (it is closed).
     */
    private Link register(Link link) {
        String peer = link.peerCellId();
        Link replaced;
        synchronized (this) {
            Link existing = byPeer.get(peer);
            if (existing != null && !existing.isClosed()) {
                String self = identity.cellId();
                String newDialer = link.dialer(self);
                String oldDialer = existing.dialer(self);
                boolean keepNew = newDialer.equals(oldDialer) || newDialer.compareTo(oldDialer) < 0;
                if (!keepNew) {
                    link.close(GoodbyeReason.GOODBYE_REASON_DUPLICATE_LINK, "already linked", null);
                    return existing;
                }
                replaced = existing;
            } else if (byPeer.size() >= limits.maxLinks()) {
                link.close(GoodbyeReason.GOODBYE_REASON_TOO_MANY_CONNECTIONS, "this cell has its maximum of "
                        + limits.maxLinks() + " links", link.outbound() ? null
                        : Status.RESOURCE_EXHAUSTED.withDescription("too many links"));
                return null;
            } else {
                replaced = null;
            }
            byPeer.put(peer, link);
        }
        stats.linkOpened();
        log.info("{} open (rtt pending), {} links", link, byPeer.size());
        if (replaced != null) {
            replaced.close(GoodbyeReason.GOODBYE_REASON_DUPLICATE_LINK, "a simultaneous dial: keeping the other link", null);
            stats.linkClosed();
        }
        link.keepalive(System.nanoTime());
        Handler h = handler;
        if (h != null) {
            h.linkUp(link);
        }
        return link;
    }

    /** The stream of {@code link} ended (either side). */
    private void ended(Link link) {
        link.closed();
        boolean current;
        synchronized (this) {
            current = byPeer.remove(link.peerCellId(), link);
        }
        if (current) {
            stats.linkClosed();
            log.info("{} closed, {} links", link, byPeer.size());
            Handler h = handler;
            if (h != null) {
                h.linkDown(link);
            }
        }
    }

    private void frame(Link link, LinkFrame frame) {
        if (link.isClosed()) {
            return;
        }
        long now = clock.millis();
        link.lastReceivedMillis = now;
        Handler h = handler;
        switch (frame.getFrameCase()) {
            case KEEPALIVE -> {
                Keepalive k = frame.getKeepalive();
                if (!k.getReply()) {
                    link.send(LinkFrame.newBuilder().setKeepalive(Keepalive.newBuilder().setSeqNo(k.getSeqNo())
                            .setReply(true)).build(), Link.LANE_LINK);
                } else {
                    long rtt = link.keepaliveReply(k.getSeqNo(), System.nanoTime());
                    if (rtt >= 0) {
                        stats.rtt(rtt);
                    }
                }
            }
            case MESSAGE -> {
                if (h != null) {
                    h.envelope(link, frame.getMessage());
                }
            }
            case ACK -> {
                if (h != null) {
                    h.ack(link, frame.getAck());
                }
            }
            case GOODBYE -> {
                var bye = frame.getGoodbye();
                if (bye.hasRetryAfter() && link.dialledAddress() != null) {
                    // only the address this cell dialled (the peer's by TLS), and never for long
                    long until = clock.millis() + Math.min(MAX_RETRY_AFTER_MILLIS,
                            Math.max(0, bye.getRetryAfter().getSeconds()) * 1000);
                    backoff.merge(link.dialledAddress(), new Backoff(1, until),
                            (old, neu) -> new Backoff(old.failures(), Math.max(old.notBeforeMillis(), until)));
                }
                log.info("{}: goodbye {} {}", link, bye.getReason(), bye.getDetail());
                link.close(GoodbyeReason.GOODBYE_REASON_CLOSED, "goodbye", null);
                ended(link);
            }
            case HELLO -> {
                link.close(GoodbyeReason.GOODBYE_REASON_INCOMPATIBLE, "a second hello on a link",
                        Status.INVALID_ARGUMENT.withDescription("a second hello on a link"));
                ended(link);
            }
            default -> {
                // an empty or unknown frame from a newer peer: nothing to do
            }
        }
    }

    /** Closes the link to {@code peer}, if any; {@code error} is the status the peer's stream ends with. */
    public boolean disconnect(String peer, GoodbyeReason reason, String detail, Status error) {
        Link link = byPeer.get(peer);
        if (link == null) {
            return false;
        }
        link.close(reason, detail, link.outbound() ? null : error);
        ended(link);
        return true;
    }

    /** Keeps redialling {@code address} when its link drops (seeds, operator-connected peers). */
    public void keepConnected(String address) {
        persistent.add(address);
    }

    public void forget(String address) {
        persistent.remove(address);
    }

    private void keepAlive() {
        try {
            long now = clock.millis();
            long interval = limits.keepaliveInterval().toMillis();
            for (Link link : byPeer.values()) {
                if (now - link.lastReceivedMillis > 3 * interval) {
                    log.info("{}: nothing received for {} ms, closing", link, now - link.lastReceivedMillis);
                    link.close(GoodbyeReason.GOODBYE_REASON_CLOSED, "no keep-alive", null);
                    ended(link);
                } else if (now - link.lastMessageMillis > limits.idleTimeout().toMillis()
                        && (link.dialledAddress() == null || !persistent.contains(link.dialledAddress()))) {
                    link.close(GoodbyeReason.GOODBYE_REASON_CLOSED, "idle for " + limits.idleTimeout(), null);
                    ended(link);
                } else {
                    link.keepalive(System.nanoTime());
                }
            }
        } catch (RuntimeException e) {
            log.warn("keep-alive round failed", e);
        }
    }

    private void redialPersistent() {
        if (stopping || listenAddress.isEmpty()) {
            return;
        }
        for (String address : persistent) {
            String id = idByAddress.get(address);
            if ((id == null || !byPeer.containsKey(id)) && !dialing.containsKey(address) && !backingOff(address)
                    && !address.equals(listenAddress)) {
                dial(address, null).exceptionally(e -> {
                    log.debug("redial of {} failed: {}", address, e.getMessage());
                    return null;
                });
            }
        }
    }

    /** Says goodbye on every link (the cell is stopping) and refuses new ones. */
    void closeAll() {
        stopping = true;
        for (Link link : byPeer.values()) {
            link.close(GoodbyeReason.GOODBYE_REASON_SHUTDOWN, "the cell is stopping", null);
            ended(link);
        }
    }

    @PreDestroy
    void shutdown() {
        stopping = true;
        timers.shutdownNow();
    }

    /** A stream observer that ignores everything (for a refused link). */
    private static final class Ignore<T> implements StreamObserver<T> {
        @Override
        public void onNext(T value) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }
}
