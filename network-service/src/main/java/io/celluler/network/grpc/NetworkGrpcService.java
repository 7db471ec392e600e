package io.celluler.network.grpc;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.celluler.network.engine.RoutingTable;
import io.celluler.network.engine.membership.Update;
import io.celluler.network.p2p.Link;
import io.celluler.network.p2p.Links;
import io.celluler.network.p2p.MembershipDriver;
import io.celluler.network.p2p.NetworkStats;
import io.celluler.network.p2p.P2pServer;
import io.celluler.network.p2p.Router;
import io.celluler.proto.network.v1.BlacklistEntry;
import io.celluler.proto.network.v1.BlacklistPeerRequest;
import io.celluler.proto.network.v1.BlacklistPeerResponse;
import io.celluler.proto.network.v1.BroadcastRequest;
import io.celluler.proto.network.v1.BroadcastResponse;
import io.celluler.proto.network.v1.CallRequest;
import io.celluler.proto.network.v1.CallResponse;
import io.celluler.proto.network.v1.Capability;
import io.celluler.proto.network.v1.ConnectPeerRequest;
import io.celluler.proto.network.v1.ConnectPeerResponse;
import io.celluler.proto.network.v1.DisconnectPeerRequest;
import io.celluler.proto.network.v1.DisconnectPeerResponse;
import io.celluler.proto.network.v1.DiscoverPeersRequest;
import io.celluler.proto.network.v1.DiscoverPeersResponse;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.GetCellInfoResponse;
import io.celluler.proto.network.v1.GetPeerRequest;
import io.celluler.proto.network.v1.GetPeerResponse;
import io.celluler.proto.network.v1.GetStatsRequest;
import io.celluler.proto.network.v1.GetStatsResponse;
import io.celluler.proto.network.v1.LinkState;
import io.celluler.proto.network.v1.ListBlacklistRequest;
import io.celluler.proto.network.v1.ListBlacklistResponse;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.ListPeersResponse;
import io.celluler.proto.network.v1.ListRoutesRequest;
import io.celluler.proto.network.v1.ListRoutesResponse;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc.NetworkServiceImplBase;
import io.celluler.proto.network.v1.PeerInfo;
import io.celluler.proto.network.v1.PriorityClass;
import io.celluler.proto.network.v1.Route;
import io.celluler.proto.network.v1.SendRequest;
import io.celluler.proto.network.v1.SendResponse;
import io.celluler.proto.network.v1.ServeRequest;
import io.celluler.proto.network.v1.ServeResponse;
import io.celluler.proto.network.v1.SubscribeRequest;
import io.celluler.proto.network.v1.SubscribeResponse;
import io.celluler.proto.network.v1.TopicStats;
import io.celluler.proto.network.v1.UnblacklistPeerRequest;
import io.celluler.proto.network.v1.UnblacklistPeerResponse;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.GoodbyeReason;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.Priority;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import jakarta.annotation.PreDestroy;
import org.springframework.stereotype.Service;

/**
 * The network-service API (issue 3 §6) for the cell's other services and its operators: identity, peers and
 * membership, links, messaging (send, broadcast, subscribe, request/response with call/serve), routes, the
 * blacklist and statistics. Every argument is checked first: a bad one is INVALID_ARGUMENT naming the field.
 * Calls that may wait (a dial, an acknowledgement, an answer) run on virtual threads.
 */
@Service
public class NetworkGrpcService extends NetworkServiceImplBase {

    static final Pattern CELL_ID = Pattern.compile("[0-9a-f]{64}");
    static final Pattern TOPIC = Pattern.compile("[a-z0-9._-]{1,128}");
    static final Pattern ADDRESS = Pattern.compile("[A-Za-z0-9.\\-]+:[0-9]{1,5}|\\[[0-9a-fA-F:]+]:[0-9]{1,5}");
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final Instant startedAt = Instant.now();
    private final String version;
    private final P2pServer p2p;
    private final Links links;
    private final Router router;
    private final MembershipDriver membership;
    private final NetworkStats stats;
    private final ExecutorService waiting = Executors.newVirtualThreadPerTaskExecutor();

    public NetworkGrpcService(CellIdentity identity, NetworkProperties properties, P2pServer p2p, Links links,
            Router router, MembershipDriver membership, NetworkStats stats) {
        this.identity = identity;
        this.properties = properties;
        this.p2p = p2p;
        this.links = links;
        this.router = router;
        this.membership = membership;
        this.stats = stats;
        String v = NetworkGrpcService.class.getPackage().getImplementationVersion();
        this.version = v == null ? "dev" : v;
    }

    @PreDestroy
    void shutdown() {
        waiting.shutdownNow();
    }

    // ---- identity and peers ---------------------------------------------------------------------------

    @Override
    public void getCellInfo(GetCellInfoRequest request, StreamObserver<GetCellInfoResponse> responses) {
        GetCellInfoResponse.Builder info = GetCellInfoResponse.newBuilder()
                .setCellId(identity.cellId())
                .setPublicKey(ByteString.copyFrom(identity.publicKey()))
                .setVersion(version)
                .setIncarnation(membership.incarnation())
                .setStartedAt(timestamp(startedAt.toEpochMilli()));
        properties.advertisedCapabilities().forEach((service, apis) -> info.addCapabilities(
                Capability.newBuilder().setService(service).addAllApiVersions(apis)));
        String p2pAddress = p2p.listenAddress();
        if (p2pAddress != null) {
            info.addP2PAddresses(p2pAddress);
        }
        responses.onNext(info.build());
        responses.onCompleted();
    }

    @Override
    public void listPeers(ListPeersRequest request, StreamObserver<ListPeersResponse> responses) {
        if (request.getPageSize() < 0) {
            responses.onError(GrpcErrors.invalidArgument("page_size", "must not be negative"));
            return;
        }
        if (!request.getPageToken().isEmpty() && !CELL_ID.matcher(request.getPageToken()).matches()) {
            responses.onError(GrpcErrors.invalidArgument("page_token", "not a token from a previous response"));
            return;
        }
        int size = request.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(request.getPageSize(), MAX_PAGE);
        List<PeerInfo> matching = new ArrayList<>();
        membership.members().values().stream()
                .filter(u -> !u.id().equals(identity.cellId()))
                .sorted(Comparator.comparing(Update::id))
                .filter(u -> request.getPageToken().isEmpty() || u.id().compareTo(request.getPageToken()) > 0)
                .map(this::peerInfo)
                .filter(p -> request.getMemberState() == MemberState.MEMBER_STATE_UNSPECIFIED
                        || p.getMemberState() == request.getMemberState())
                .filter(p -> !request.getConnectedOnly() || p.getLinkState() == LinkState.LINK_STATE_CONNECTED)
                .filter(p -> request.getCapability().isEmpty()
                        || p.getCapabilitiesList().stream().anyMatch(c -> c.getService().equals(request.getCapability())))
                .limit(size + 1L)
                .forEach(matching::add);
        ListPeersResponse.Builder out = ListPeersResponse.newBuilder();
        if (matching.size() > size) {
            out.addAllPeers(matching.subList(0, size)).setNextPageToken(matching.get(size - 1).getCellId());
        } else {
            out.addAllPeers(matching);
        }
        responses.onNext(out.build());
        responses.onCompleted();
    }

    @Override
    public void getPeer(GetPeerRequest request, StreamObserver<GetPeerResponse> responses) {
        if (!validCellId("cell_id", request.getCellId(), responses)) {
            return;
        }
        Update u = membership.members().get(request.getCellId());
        if (u == null || u.id().equals(identity.cellId())) {
            Link link = links.get(request.getCellId());
            if (link == null) {
                responses.onError(GrpcErrors.notFound("cell " + request.getCellId() + " is not known to this cell"));
                return;
            }
            responses.onNext(GetPeerResponse.newBuilder().setPeer(linkOnlyInfo(link)).build());
        } else {
            responses.onNext(GetPeerResponse.newBuilder().setPeer(peerInfo(u)).build());
        }
        responses.onCompleted();
    }

    private PeerInfo peerInfo(Update u) {
        io.celluler.proto.p2p.v1.Member meta = MembershipDriver.metaOf(u);
        PeerInfo.Builder p = PeerInfo.newBuilder().setCellId(u.id()).setPublicKey(meta.getPublicKey())
                .setVersion(meta.getSoftwareVersion()).setMemberState(MemberState.forNumber(u.state().ordinal() + 1))
                .setIncarnation(u.incarnation()).setBlacklisted(router.isBlacklisted(u.id()));
        if (!u.address().isEmpty()) {
            p.addAddresses(u.address());
        }
        meta.getCapabilitiesList().forEach(c -> p.addCapabilities(capability(c)));
        Long seen = membership.lastSeen(u.id());
        if (seen != null) {
            p.setLastSeenAt(timestamp(seen));
        }
        linkState(p, links.get(u.id()), u.address());
        return p.build();
    }

    private PeerInfo linkOnlyInfo(Link link) {
        PeerInfo.Builder p = PeerInfo.newBuilder().setCellId(link.peerCellId())
                .setPublicKey(link.peerHello().getPublicKey()).setVersion(link.peerHello().getSoftwareVersion())
                .addAllAddresses(link.peerAddresses()).setBlacklisted(router.isBlacklisted(link.peerCellId()));
        link.peerHello().getCapabilitiesList().forEach(c -> p.addCapabilities(capability(c)));
        linkState(p, link, "");
        return p.build();
    }

    private void linkState(PeerInfo.Builder p, Link link, String address) {
        if (link != null && !link.isClosed()) {
            p.setLinkState(LinkState.LINK_STATE_CONNECTED).setOutbound(link.outbound())
                    .setMessagesIn(link.messagesIn()).setMessagesOut(link.messagesOut())
                    .setBytesIn(link.bytesIn()).setBytesOut(link.bytesOut());
            if (link.rttNanos() >= 0) {
                p.setRtt(duration(Duration.ofNanos(link.rttNanos())));
            }
        } else if (!address.isEmpty() && links.dialling(address)) {
            p.setLinkState(LinkState.LINK_STATE_CONNECTING);
        } else if (!address.isEmpty() && links.backingOff(address)) {
            p.setLinkState(LinkState.LINK_STATE_BACKING_OFF);
        } else {
            p.setLinkState(LinkState.LINK_STATE_DISCONNECTED);
        }
    }

    private static Capability capability(io.celluler.proto.p2p.v1.Capability c) {
        return Capability.newBuilder().setService(c.getService()).addAllApiVersions(c.getApiVersionsList()).build();
    }

    @Override
    public void connectPeer(ConnectPeerRequest request, StreamObserver<ConnectPeerResponse> responses) {
        if (!ADDRESS.matcher(request.getAddress()).matches()) {
            responses.onError(GrpcErrors.invalidArgument("address", "must be host:port"));
            return;
        }
        if (!request.getExpectedCellId().isEmpty() && !validCellId("expected_cell_id", request.getExpectedCellId(), responses)) {
            return;
        }
        String expected = request.getExpectedCellId().isEmpty() ? null : request.getExpectedCellId();
        String known = expected != null ? expected : links.cellAt(request.getAddress());
        boolean already = known != null && links.get(known) != null;
        waiting.execute(() -> {
            try {
                Link link = links.dial(request.getAddress(), expected)
                        .get(properties.links().handshakeTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
                links.keepConnected(request.getAddress());
                Update u = membership.members().get(link.peerCellId());
                responses.onNext(ConnectPeerResponse.newBuilder().setAlreadyConnected(already)
                        .setPeer(u == null ? linkOnlyInfo(link) : peerInfo(u)).build());
                responses.onCompleted();
            } catch (ExecutionException e) {
                responses.onError(Status.fromThrowable(e.getCause()).asRuntimeException());
            } catch (TimeoutException e) {
                responses.onError(Status.DEADLINE_EXCEEDED.withDescription("no link to " + request.getAddress()
                        + " within " + properties.links().handshakeTimeout()).asRuntimeException());
            } catch (InterruptedException e) {
                responses.onError(Status.CANCELLED.asRuntimeException());
            }
        });
    }

    @Override
    public void disconnectPeer(DisconnectPeerRequest request, StreamObserver<DisconnectPeerResponse> responses) {
        if (!validCellId("cell_id", request.getCellId(), responses)) {
            return;
        }
        Link link = links.get(request.getCellId());
        if (link == null) {
            responses.onError(GrpcErrors.notFound("no link to cell " + request.getCellId()));
            return;
        }
        link.peerAddresses().forEach(links::forget);
        if (link.dialledAddress() != null) {
            links.forget(link.dialledAddress());
        }
        links.disconnect(request.getCellId(), GoodbyeReason.GOODBYE_REASON_CLOSED,
                request.getReason().isEmpty() ? "closed by the operator" : request.getReason(), null);
        responses.onNext(DisconnectPeerResponse.getDefaultInstance());
        responses.onCompleted();
    }

    @Override
    public void discoverPeers(DiscoverPeersRequest request, StreamObserver<DiscoverPeersResponse> responses) {
        membership.discover().whenComplete((found, error) -> {
            if (error != null) {
                responses.onError(Status.INTERNAL.withDescription("discovery failed").withCause(error).asRuntimeException());
                return;
            }
            DiscoverPeersResponse.Builder out = DiscoverPeersResponse.newBuilder()
                    .setKnownMembers(membership.members().size());
            found.stream().filter(u -> !u.id().equals(identity.cellId())).forEach(u -> out.addDiscovered(peerInfo(u)));
            responses.onNext(out.build());
            responses.onCompleted();
        });
    }

    // ---- messaging ----------------------------------------------------------------------------------------

    @Override
    public void send(SendRequest request, StreamObserver<SendResponse> responses) {
        if (!validMessage(request.getDestinationCellId(), request.getTopic(), request.getPayload(), responses)) {
            return;
        }
        long deadline = deadlineNanos(properties.routing().callTimeout());
        CellMessage m = router.seal(MessageKind.MESSAGE_KIND_DIRECT, request.getTopic(), request.getDestinationCellId(),
                request.getPayload(), priority(request.getPriority()), properties.routing().maxHops(), null);
        waiting.execute(() -> {
            try {
                Router.Sent sent = router.send(m, request.getWaitForAck(), deadline);
                responses.onNext(SendResponse.newBuilder().setMessageId(sent.messageId())
                        .setAcknowledged(sent.acknowledged()).setHops(Math.max(0, sent.hops() - 1)).build());
                responses.onCompleted();
            } catch (StatusException e) {
                responses.onError(e);
            }
        });
    }

    @Override
    public void broadcast(BroadcastRequest request, StreamObserver<BroadcastResponse> responses) {
        if (!validTopic("topic", request.getTopic(), responses) || !validPayload(request.getPayload(), responses)) {
            return;
        }
        if (request.getTtl() > 32) {
            responses.onError(GrpcErrors.invalidArgument("ttl", "at most 32"));
            return;
        }
        int ttl = request.getTtl() == 0 ? properties.routing().broadcastTtl() : request.getTtl();
        CellMessage m = router.seal(MessageKind.MESSAGE_KIND_BROADCAST, request.getTopic(), "", request.getPayload(),
                priority(request.getPriority()), ttl, null);
        int handed = router.broadcast(m);
        responses.onNext(BroadcastResponse.newBuilder().setMessageId(m.getMessageId()).setFirstHopPeers(handed).build());
        responses.onCompleted();
    }

    @Override
    public void subscribe(SubscribeRequest request, StreamObserver<SubscribeResponse> responses) {
        if (!validTopic("topic", request.getTopic(), responses)) {
            return;
        }
        if (!request.getSourceCellId().isEmpty() && !validCellId("source_cell_id", request.getSourceCellId(), responses)) {
            return;
        }
        router.endpoints().subscribe(request.getTopic(), request.getSourceCellId(),
                (ServerCallStreamObserver<SubscribeResponse>) responses);
    }

    @Override
    public void call(CallRequest request, StreamObserver<CallResponse> responses) {
        if (!validMessage(request.getDestinationCellId(), request.getTopic(), request.getPayload(), responses)) {
            return;
        }
        long deadline = deadlineNanos(properties.routing().callTimeout());
        long timeoutNanos = Math.max(1, deadline - System.nanoTime());
        CellMessage m = router.seal(MessageKind.MESSAGE_KIND_REQUEST, request.getTopic(), request.getDestinationCellId(),
                request.getPayload(), priority(request.getPriority()), properties.routing().maxHops(),
                b -> b.setTimeout(duration(Duration.ofNanos(timeoutNanos))));
        long t0 = System.nanoTime();
        waiting.execute(() -> {
            try {
                CellMessage r = router.endpoints().call(m, deadline);
                long took = System.nanoTime() - t0;
                stats.meters().timer("celluler.network.call.duration", "outcome", "ok").record(took, TimeUnit.NANOSECONDS);
                responses.onNext(CallResponse.newBuilder().setPayload(r.getPayload()).setResponderCellId(r.getSourceCellId())
                        .setRoundTrip(duration(Duration.ofNanos(took))).build());
                responses.onCompleted();
            } catch (StatusException e) {
                stats.meters().timer("celluler.network.call.duration", "outcome", e.getStatus().getCode().name())
                        .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
                responses.onError(e);
            }
        });
    }

    @Override
    public StreamObserver<ServeRequest> serve(StreamObserver<ServeResponse> responses) {
        return router.endpoints().serve((ServerCallStreamObserver<ServeResponse>) responses,
                t -> TOPIC.matcher(t).matches() && !t.startsWith("p2p."));
    }

    // ---- routes, blacklist, stats -------------------------------------------------------------------------

    @Override
    public void listRoutes(ListRoutesRequest request, StreamObserver<ListRoutesResponse> responses) {
        ListRoutesResponse.Builder out = ListRoutesResponse.newBuilder();
        for (RoutingTable.Route r : router.routingTable().values()) {
            Route.Builder route = Route.newBuilder().setDestinationCellId(r.destination())
                    .setNextHopCellId(r.nextHop()).setHops(r.hops());
            Link first = links.get(r.nextHop());
            if (first != null && first.rttNanos() >= 0) {
                // the first link's round trip times the hops: an estimate, each relay adds about as much
                route.setRtt(duration(Duration.ofNanos(first.rttNanos() * r.hops())));
            }
            out.addRoutes(route);
        }
        responses.onNext(out.build());
        responses.onCompleted();
    }

    @Override
    public void listBlacklist(ListBlacklistRequest request, StreamObserver<ListBlacklistResponse> responses) {
        ListBlacklistResponse.Builder out = ListBlacklistResponse.newBuilder();
        router.blacklist().forEach(b -> out.addEntries(entry(b)));
        responses.onNext(out.build());
        responses.onCompleted();
    }

    @Override
    public void blacklistPeer(BlacklistPeerRequest request, StreamObserver<BlacklistPeerResponse> responses) {
        if (!validCellId("cell_id", request.getCellId(), responses)) {
            return;
        }
        if (request.getCellId().equals(identity.cellId())) {
            responses.onError(GrpcErrors.invalidArgument("cell_id", "is this cell"));
            return;
        }
        long millis = request.hasDuration()
                ? request.getDuration().getSeconds() * 1000 + request.getDuration().getNanos() / 1_000_000
                : router.banMillis();
        if (millis <= 0) {
            responses.onError(GrpcErrors.invalidArgument("duration", "must be positive"));
            return;
        }
        router.ban(request.getCellId(), System.currentTimeMillis() + millis,
                request.getReason().isEmpty() ? "blacklisted by the operator" : request.getReason());
        Router.Ban ban = router.blacklist().stream().filter(b -> b.cellId().equals(request.getCellId())).findFirst()
                .orElseThrow();
        responses.onNext(BlacklistPeerResponse.newBuilder().setEntry(entry(ban)).build());
        responses.onCompleted();
    }

    @Override
    public void unblacklistPeer(UnblacklistPeerRequest request, StreamObserver<UnblacklistPeerResponse> responses) {
        if (!validCellId("cell_id", request.getCellId(), responses)) {
            return;
        }
        if (!router.unban(request.getCellId())) {
            responses.onError(GrpcErrors.notFound("cell " + request.getCellId() + " is not blacklisted"));
            return;
        }
        responses.onNext(UnblacklistPeerResponse.getDefaultInstance());
        responses.onCompleted();
    }

    private static BlacklistEntry entry(Router.Ban b) {
        return BlacklistEntry.newBuilder().setCellId(b.cellId()).setReason(b.reason()).setManual(b.manual())
                .setCreatedAt(timestamp(b.sinceMillis())).setExpiresAt(timestamp(b.untilMillis())).build();
    }

    @Override
    public void getStats(GetStatsRequest request, StreamObserver<GetStatsResponse> responses) {
        GetStatsResponse.Builder out = GetStatsResponse.newBuilder()
                .setConnectionsOpen(stats.linksOpen())
                .setConnectionsOpenedTotal(stats.linksOpened())
                .putAllRejectedByReason(stats.rejectedByReason())
                .setMessagesRelayed(stats.relayedTotal())
                .setDuplicatesDropped(stats.duplicatesTotal());
        stats.topics().forEach((name, t) -> out.addTopics(TopicStats.newBuilder().setTopic(name)
                .setMessagesIn(t.messagesIn.sum()).setMessagesOut(t.messagesOut.sum())
                .setBytesIn(t.bytesIn.sum()).setBytesOut(t.bytesOut.sum())));
        Map<String, Integer> byState = new java.util.TreeMap<>();
        membership.members().values().forEach(u -> byState.merge(u.state().name(), 1, Integer::sum));
        out.putAllMembersByState(byState);
        Duration p50 = stats.rttPercentile(0.5);
        Duration p99 = stats.rttPercentile(0.99);
        if (p50 != null) {
            out.setRttP50(duration(p50)).setRttP99(duration(p99));
        }
        responses.onNext(out.build());
        responses.onCompleted();
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    /** A message for another cell (Send, Call): its destination, topic and payload. */
    private boolean validMessage(String destination, String topic, ByteString payload, StreamObserver<?> responses) {
        if (!validCellId("destination_cell_id", destination, responses) || !validTopic("topic", topic, responses)
                || !validPayload(payload, responses)) {
            return false;
        }
        if (destination.equals(identity.cellId())) {
            responses.onError(GrpcErrors.invalidArgument("destination_cell_id", "is this cell"));
            return false;
        }
        return true;
    }

    private static boolean validCellId(String field, String value, StreamObserver<?> responses) {
        if (!CELL_ID.matcher(value).matches()) {
            responses.onError(GrpcErrors.invalidArgument(field, "must be a cell id: 64 lowercase hex characters"));
            return false;
        }
        return true;
    }

    private static boolean validTopic(String field, String value, StreamObserver<?> responses) {
        if (!TOPIC.matcher(value).matches()) {
            responses.onError(GrpcErrors.invalidArgument(field, "must be 1-128 characters of [a-z0-9._-]"));
            return false;
        }
        if (value.startsWith("p2p.")) {
            responses.onError(GrpcErrors.invalidArgument(field, "topics starting with p2p. are reserved"));
            return false;
        }
        return true;
    }

    private boolean validPayload(ByteString payload, StreamObserver<?> responses) {
        if (payload.size() > properties.maxPayloadBytes()) {
            responses.onError(GrpcErrors.invalidArgument("payload", payload.size() + " bytes; at most "
                    + properties.maxPayloadBytes()));
            return false;
        }
        return true;
    }

    private static Priority priority(PriorityClass c) {
        return switch (c) {
            case PRIORITY_CLASS_CONSENSUS -> Priority.PRIORITY_CONSENSUS;
            case PRIORITY_CLASS_BULK -> Priority.PRIORITY_BULK;
            default -> Priority.PRIORITY_CONTROL;
        };
    }

    /** The caller's deadline (capped by the replay window: a retried envelope must stay fresh), or the default. */
    private long deadlineNanos(Duration fallback) {
        Deadline d = Context.current().getDeadline();
        long cap = properties.replayWindow().toNanos() / 2;
        long wanted = d == null ? fallback.toNanos() : d.timeRemaining(TimeUnit.NANOSECONDS);
        return System.nanoTime() + Math.min(wanted, cap);
    }

    private static Timestamp timestamp(long millis) {
        return Timestamp.newBuilder().setSeconds(Math.floorDiv(millis, 1000)).setNanos((int) Math.floorMod(millis, 1000) * 1_000_000)
                .build();
    }

    private static com.google.protobuf.Duration duration(Duration d) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }
}
