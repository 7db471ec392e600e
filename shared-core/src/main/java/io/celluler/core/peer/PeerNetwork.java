package io.celluler.core.peer;

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
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.celluler.proto.network.v1.BlacklistPeerRequest;
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
 * A service's way to the same service on other cells: this cell's network-service, over gRPC. Requests ({@code Q})
 * go out as {@code Call}s on the service's topic (network-service signs, routes and relays them); requests from
 * other cells come in on one {@code Serve} stream of that topic, each with its caller's authenticated cell id, and
 * are answered ({@code R}) by a handler on a bounded pool of threads (a full pool answers RESOURCE_EXHAUSTED at once:
 * callers retry on their next pass). The peers are the live cells that advertise the service's capability.
 */
public class PeerNetwork<Q extends Message, R extends Message> implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerNetwork.class);
    private static final long PEERS_CACHE_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final String topic;
    private final String capability;
    private final Parser<Q> requests;
    private final Parser<R> responses;

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

    /**
     * @param address     host:port of this cell's network-service (gRPC)
     * @param topic       the topic requests travel on (one service, one topic)
     * @param capability  the capability (service name) that peers advertise
     * @param requests    parses the requests other cells send
     * @param responses   parses their answers
     */
    public PeerNetwork(String address, Duration callTimeout, String topic, String capability, Parser<Q> requests,
            Parser<R> responses) {
        this.topic = topic;
        this.capability = capability;
        this.requests = requests;
        this.responses = responses;
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

    /** The other cells that run the service and are alive, as membership sees them now (cached for 2 s). */
    public List<String> peers() {
        if (peersKnown && System.nanoTime() - peersAt < PEERS_CACHE_NANOS) {
            return peers;
        }
        List<String> out = new ArrayList<>();
        String token = "";
        for (int page = 0; page < 100; page++) { // at most 100,000 cells
            ListPeersResponse r = blocking.withDeadlineAfter(5, TimeUnit.SECONDS).listPeers(ListPeersRequest.newBuilder()
                    .setCapability(capability).setMemberState(MemberState.MEMBER_STATE_ALIVE).setPageSize(1000)
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

    /** One request to the service on another cell; the answer, or a {@link StatusRuntimeException}. */
    public R call(String cell, Q request) {
        byte[] reply = blocking.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS).call(CallRequest.newBuilder()
                .setDestinationCellId(cell).setTopic(topic).setPayload(request.toByteString())
                .setPriority(PriorityClass.PRIORITY_CLASS_BULK).build()).getPayload().toByteArray();
        try {
            return responses.parseFrom(reply);
        } catch (InvalidProtocolBufferException e) {
            throw Status.DATA_LOSS.withDescription("cell " + cell + " answered something that is not a " + topic + " answer")
                    .asRuntimeException();
        }
    }

    /**
     * Reports a cell that sent something that does not verify: network-service blacklists it for {@code duration}
     * (its links closed, its messages dropped). Best effort: a failure to report is logged, not thrown.
     */
    public void report(String cell, String reason, Duration duration) {
        try {
            blocking.withDeadlineAfter(5, TimeUnit.SECONDS).blacklistPeer(BlacklistPeerRequest.newBuilder().setCellId(cell)
                    .setReason(reason).setDuration(com.google.protobuf.Duration.newBuilder().setSeconds(duration.toSeconds()))
                    .build());
            log.warn("reported cell {} to network-service: {}", cell, reason);
        } catch (StatusRuntimeException e) {
            log.warn("could not report cell {} ({}): {}", cell, reason, e.getStatus());
        }
        peersKnown = false;
    }

    /**
     * Answers other cells' requests with {@code handler(sourceCell, request)} on {@code workers}, from now until
     * {@link #close}; the stream is opened again (after {@code retry}) whenever it ends.
     */
    public synchronized void serve(BiFunction<String, Q, R> handler, ExecutorService workers,
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
        private final BiFunction<String, Q, R> handler;
        private final ExecutorService workers;
        private final ScheduledExecutorService retries;
        private final Duration retry;
        private volatile boolean registered;

        ServeLoop(BiFunction<String, Q, R> handler, ExecutorService workers,
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
                        log.info("answering other cells' requests on topic {}", topic);
                        return;
                    }
                    ServeResponse.IncomingCall call = r.getCall();
                    try {
                        workers.execute(() -> answer(out[0], call));
                    } catch (RejectedExecutionException busy) {
                        reply(out[0], ServeRequest.Reply.newBuilder().setCallId(call.getCallId())
                                .setStatusCode(Status.Code.RESOURCE_EXHAUSTED.value())
                                .setStatusMessage(capability + " is busy answering other cells; ask again later").build());
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
            out[0].onNext(ServeRequest.newBuilder().setRegister(ServeRequest.Register.newBuilder().addTopics(topic)).build());
        }

        private void answer(StreamObserver<ServeRequest> out, ServeResponse.IncomingCall call) {
            ServeRequest.Reply.Builder reply = ServeRequest.Reply.newBuilder().setCallId(call.getCallId());
            long deadlineMillis = call.getDeadline().getSeconds() * 1000 + call.getDeadline().getNanos() / 1_000_000;
            if (call.hasDeadline() && deadlineMillis <= System.currentTimeMillis()) {
                return; // waited in the queue past its deadline: the caller gave up already
            }
            try {
                Q request = requests.parseFrom(call.getPayload());
                reply.setPayload(ByteString.copyFrom(handler.apply(call.getSourceCellId(), request).toByteArray()));
            } catch (InvalidProtocolBufferException e) {
                reply.setStatusCode(Status.Code.INVALID_ARGUMENT.value()).setStatusMessage("payload: not a " + topic + " request");
            } catch (StatusRuntimeException e) {
                reply.setStatusCode(e.getStatus().getCode().value()).setStatusMessage(String.valueOf(e.getStatus().getDescription()));
            } catch (RuntimeException e) {
                log.error("answering {} from cell {} failed", call.getTopic(), call.getSourceCellId(), e);
                reply.setStatusCode(Status.Code.INTERNAL.value()).setStatusMessage(capability + " failed: " + e);
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
