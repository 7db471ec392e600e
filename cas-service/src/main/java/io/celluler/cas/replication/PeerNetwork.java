package io.celluler.cas.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerResponse;
import io.celluler.proto.network.v1.CallRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.ListPeersResponse;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.PeerInfo;
import io.celluler.proto.network.v1.PriorityClass;
import io.celluler.proto.network.v1.ServeRequest;
import io.celluler.proto.network.v1.ServeResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cas-service's way to other cells: this cell's network-service, over gRPC. Requests go out as {@code Call}s on the
 * topic {@value #TOPIC} (network-service signs, routes and relays them); requests from other cells come in on one
 * {@code Serve} stream of that topic, each with its caller's authenticated cell id, and are answered by a handler on
 * a bounded pool of threads (a full pool answers RESOURCE_EXHAUSTED at once: callers retry on their next pass).
 */
public final class PeerNetwork implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerNetwork.class);
    public static final String TOPIC = "cas";
    static final String CAPABILITY = "cas-service";
    private static final long PEERS_CACHE_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final ManagedChannel channel;
    private final NetworkServiceGrpc.NetworkServiceStub async;
    private final NetworkServiceGrpc.NetworkServiceBlockingStub blocking;
    private final Duration callTimeout;
    private volatile String selfId;
    private volatile List<String> peers = List.of();
    /** When {@link #peers} was asked (System.nanoTime); never compared before the first ask. */
    private volatile long peersAt;
    private volatile boolean peersKnown;
    private volatile boolean closed;
    private ServeLoop serving;

    public PeerNetwork(String address, Duration callTimeout) {
        this.channel = ManagedChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(4 << 20).build();
        this.async = NetworkServiceGrpc.newStub(channel);
        this.blocking = NetworkServiceGrpc.newBlockingStub(channel);
        this.callTimeout = callTimeout;
    }

    /** This cell's id (asked once of network-service); throws while it is not reachable. */
    public String selfId() {
        String id = selfId;
        if (id == null) {
            id = blocking.withDeadlineAfter(5, TimeUnit.SECONDS).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId();
            selfId = id;
        }
        return id;
    }

    /** The other cells that run cas-service and are alive, as membership sees them now (cached for 2 s). */
    public List<String> casPeers() {
        if (peersKnown && System.nanoTime() - peersAt < PEERS_CACHE_NANOS) {
            return peers;
        }
        List<String> out = new ArrayList<>();
        String token = "";
        for (int page = 0; page < 100; page++) { // at most 100,000 cells
            ListPeersResponse r = blocking.withDeadlineAfter(5, TimeUnit.SECONDS).listPeers(ListPeersRequest.newBuilder()
                    .setCapability(CAPABILITY).setMemberState(MemberState.MEMBER_STATE_ALIVE).setPageSize(1000)
                    .setPageToken(token).build());
            r.getPeersList().stream().filter(p -> !p.getBlacklisted()).map(PeerInfo::getCellId).forEach(out::add);
            token = r.getNextPageToken();
            if (token.isEmpty()) {
                break;
            }
        }
        peers = List.copyOf(out);
        peersAt = System.nanoTime();
        peersKnown = true;
        return peers;
    }

    /** One request to another cell's cas-service; the answer, or a {@link StatusRuntimeException}. */
    public PeerResponse call(String cell, PeerRequest request) {
        byte[] reply = blocking.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS).call(CallRequest.newBuilder()
                .setDestinationCellId(cell).setTopic(TOPIC).setPayload(request.toByteString())
                .setPriority(PriorityClass.PRIORITY_CLASS_BULK).build()).getPayload().toByteArray();
        try {
            return PeerResponse.parseFrom(reply);
        } catch (InvalidProtocolBufferException e) {
            throw Status.DATA_LOSS.withDescription("cell " + cell + " answered something that is not a PeerResponse").asRuntimeException();
        }
    }

    /**
     * Answers other cells' requests with {@code handler(sourceCell, request)} on {@code workers}, from now until
     * {@link #close}; the stream is opened again (after {@code retry}) whenever it ends.
     */
    public synchronized void serve(BiFunction<String, PeerRequest, PeerResponse> handler, ExecutorService workers,
            ScheduledExecutorService retries, Duration retry) {
        serving = new ServeLoop(handler, workers, retries, retry);
        serving.open();
    }

    /** Whether the Serve stream is registered now (other cells' requests reach this cell). */
    public boolean serving() {
        ServeLoop s = serving;
        return s != null && s.registered;
    }

    @Override
    public void close() {
        closed = true;
        channel.shutdownNow();
    }

    private final class ServeLoop {
        private final BiFunction<String, PeerRequest, PeerResponse> handler;
        private final ExecutorService workers;
        private final ScheduledExecutorService retries;
        private final Duration retry;
        private volatile boolean registered;

        ServeLoop(BiFunction<String, PeerRequest, PeerResponse> handler, ExecutorService workers,
                ScheduledExecutorService retries, Duration retry) {
            this.handler = handler;
            this.workers = workers;
            this.retries = retries;
            this.retry = retry;
        }

        void open() {
            if (closed) {
                return;
            }
            @SuppressWarnings("unchecked")
            StreamObserver<ServeRequest>[] out = new StreamObserver[1];
            out[0] = async.serve(new StreamObserver<>() {
                @Override
                public void onNext(ServeResponse r) {
                    if (r.hasRegistered()) {
                        registered = true;
                        log.info("answering other cells' requests on topic {}", TOPIC);
                        return;
                    }
                    ServeResponse.IncomingCall call = r.getCall();
                    try {
                        workers.execute(() -> answer(out[0], call));
                    } catch (RejectedExecutionException busy) {
                        reply(out[0], ServeRequest.Reply.newBuilder().setCallId(call.getCallId())
                                .setStatusCode(Status.Code.RESOURCE_EXHAUSTED.value())
                                .setStatusMessage("cas-service is busy answering other cells; ask again later").build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    ended(t.toString());
                }

                @Override
                public void onCompleted() {
                    ended("completed");
                }
            });
            out[0].onNext(ServeRequest.newBuilder().setRegister(ServeRequest.Register.newBuilder().addTopics(TOPIC)).build());
        }

        private void answer(StreamObserver<ServeRequest> out, ServeResponse.IncomingCall call) {
            ServeRequest.Reply.Builder reply = ServeRequest.Reply.newBuilder().setCallId(call.getCallId());
            long deadlineMillis = call.getDeadline().getSeconds() * 1000 + call.getDeadline().getNanos() / 1_000_000;
            if (call.hasDeadline() && deadlineMillis <= System.currentTimeMillis()) {
                return; // waited in the queue past its deadline: the caller gave up already
            }
            try {
                PeerRequest request = PeerRequest.parseFrom(call.getPayload());
                reply.setPayload(ByteString.copyFrom(handler.apply(call.getSourceCellId(), request).toByteArray()));
            } catch (InvalidProtocolBufferException e) {
                reply.setStatusCode(Status.Code.INVALID_ARGUMENT.value()).setStatusMessage("payload: not a PeerRequest");
            } catch (StatusRuntimeException e) {
                reply.setStatusCode(e.getStatus().getCode().value()).setStatusMessage(String.valueOf(e.getStatus().getDescription()));
            } catch (RuntimeException e) {
                log.error("answering {} from cell {} failed", call.getTopic(), call.getSourceCellId(), e);
                reply.setStatusCode(Status.Code.INTERNAL.value()).setStatusMessage("cas-service failed: " + e);
            }
            reply(out, reply.build());
        }

        private void reply(StreamObserver<ServeRequest> out, ServeRequest.Reply reply) {
            synchronized (out) { // one writer at a time on a gRPC stream
                try {
                    out.onNext(ServeRequest.newBuilder().setReply(reply).build());
                } catch (RuntimeException streamGone) {
                    log.debug("could not answer call {}: {}", reply.getCallId(), streamGone.toString());
                }
            }
        }

        private void ended(String why) {
            registered = false;
            if (closed) {
                return;
            }
            log.warn("the Serve stream to network-service ended ({}); opening it again in {}", why, retry);
            try {
                retries.schedule(this::open, retry.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException shuttingDown) {
                // the service is stopping
            }
        }
    }
}
