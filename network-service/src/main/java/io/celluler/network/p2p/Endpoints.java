package io.celluler.network.p2p;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.proto.network.v1.ReceivedMessage;
import io.celluler.proto.network.v1.ServeRequest;
import io.celluler.proto.network.v1.ServeResponse;
import io.celluler.proto.network.v1.SubscribeResponse;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.MessageKind;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cell's services' side of messaging (issue 3 §6): {@code Subscribe} streams that receive a topic's messages,
 * {@code Serve} streams that answer a topic's calls, and the calls this cell is waiting on. Each stream gets its
 * messages through a bounded queue that respects gRPC flow control: a subscriber that falls further behind than
 * {@link #SUBSCRIBER_QUEUE} messages is cut off with RESOURCE_EXHAUSTED rather than buffered without end.
 */
public final class Endpoints {

    private static final Logger log = LoggerFactory.getLogger(Endpoints.class);
    static final int SUBSCRIBER_QUEUE = 8192;

    private final Router router;
    private final Clock clock;
    private final Map<String, List<Subscriber>> subscribers = new ConcurrentHashMap<>();
    private final Map<String, List<ServeSession>> servers = new ConcurrentHashMap<>();
    private final AtomicInteger roundRobin = new AtomicInteger();
    /** Calls from other cells handed to a serve stream and not answered yet, by call id (the request's id). */
    private final Map<String, Incoming> incoming = new ConcurrentHashMap<>();
    /** Calls of this cell waiting for their response, by request id. */
    private final Map<String, Outgoing> outgoing = new ConcurrentHashMap<>();
    private final ExecutorService responders = Executors.newVirtualThreadPerTaskExecutor();

    private record Incoming(CellMessage request, ServeSession session, long deadlineMillis) {
    }

    private record Outgoing(String destination, CompletableFuture<CellMessage> response) {
    }

    Endpoints(Router router, Clock clock) {
        this.router = router;
        this.clock = clock;
    }

    // ---- subscriptions ----------------------------------------------------------------------------------

    /** One {@code Subscribe} stream. */
    public final class Subscriber {
        private final String topic;
        private final String source;
        private final ServerCallStreamObserver<SubscribeResponse> out;
        private final PriorityWriter<SubscribeResponse> writer;

        Subscriber(String topic, String source, ServerCallStreamObserver<SubscribeResponse> out) {
            this.topic = topic;
            this.source = source;
            this.out = out;
            this.writer = new PriorityWriter<>(new int[] {SUBSCRIBER_QUEUE}, out::isReady, out::onNext);
        }

        void offer(SubscribeResponse message) {
            if (!writer.offer(message, 0)) {
                writer.close(() -> out.onError(Status.RESOURCE_EXHAUSTED.withDescription("this subscriber fell "
                        + SUBSCRIBER_QUEUE + " messages behind on topic " + topic + "; subscribe again").asRuntimeException()));
                unsubscribe(this);
            }
        }
    }

    /** Starts delivering {@code topic}'s messages (from {@code source} only, unless empty) to {@code out}. */
    public void subscribe(String topic, String source, ServerCallStreamObserver<SubscribeResponse> out) {
        Subscriber s = new Subscriber(topic, source, out);
        out.setOnReadyHandler(s.writer::drain);
        out.setOnCancelHandler(() -> unsubscribe(s));
        subscribers.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).add(s);
    }

    private void unsubscribe(Subscriber s) {
        List<Subscriber> list = subscribers.get(s.topic);
        if (list != null) {
            list.remove(s);
        }
    }

    /** Hands a verified message to the topic's subscribers; returns how many took it. */
    int deliver(CellMessage m, boolean broadcast, long nowMillis) {
        List<Subscriber> list = subscribers.get(m.getTopic());
        if (list == null || list.isEmpty()) {
            return 0;
        }
        SubscribeResponse r = SubscribeResponse.newBuilder().setMessage(ReceivedMessage.newBuilder()
                .setMessageId(m.getMessageId()).setTopic(m.getTopic()).setSourceCellId(m.getSourceCellId())
                .setPayload(m.getPayload()).setSentAt(m.getTimestamp())
                .setReceivedAt(Timestamp.newBuilder().setSeconds(nowMillis / 1000).setNanos((int) (nowMillis % 1000) * 1_000_000))
                .setBroadcast(broadcast).setHops(m.getRelayPathCount())).build();
        int n = 0;
        for (Subscriber s : list) {
            if (s.source.isEmpty() || s.source.equals(m.getSourceCellId())) {
                s.offer(r);
                n++;
            }
        }
        return n;
    }

    // ---- serving ------------------------------------------------------------------------------------------

    /** One {@code Serve} stream: registers topics with its first message, then answers calls. */
    public final class ServeSession implements StreamObserver<ServeRequest> {
        private final ServerCallStreamObserver<ServeResponse> out;
        private final PriorityWriter<ServeResponse> writer;
        private final java.util.function.Predicate<String> topicAllowed;
        private List<String> topics = List.of();
        private volatile boolean ended;

        ServeSession(ServerCallStreamObserver<ServeResponse> out, java.util.function.Predicate<String> topicAllowed) {
            this.out = out;
            this.topicAllowed = topicAllowed;
            this.writer = new PriorityWriter<>(new int[] {SUBSCRIBER_QUEUE}, out::isReady, out::onNext);
            out.setOnReadyHandler(writer::drain);
        }

        @Override
        public void onNext(ServeRequest request) {
            if (ended) {
                return;
            }
            switch (request.getKindCase()) {
                case REGISTER -> {
                    if (!topics.isEmpty()) {
                        end(Status.FAILED_PRECONDITION.withDescription("register: only the first message registers topics"));
                        return;
                    }
                    List<String> wanted = request.getRegister().getTopicsList();
                    if (wanted.isEmpty()) {
                        end(Status.INVALID_ARGUMENT.withDescription("register.topics: at least one topic"));
                        return;
                    }
                    for (String t : wanted) {
                        if (!topicAllowed.test(t)) {
                            end(Status.INVALID_ARGUMENT.withDescription("register.topics: '" + t
                                    + "' is not a topic name ([a-z0-9._-]{1,128}, not starting with p2p.)"));
                            return;
                        }
                    }
                    topics = List.copyOf(wanted);
                    topics.forEach(t -> servers.computeIfAbsent(t, k -> new CopyOnWriteArrayList<>()).add(this));
                    writer.offer(ServeResponse.newBuilder().setRegistered(
                            ServeResponse.Registered.newBuilder().addAllTopics(topics)).build(), 0);
                }
                case REPLY -> {
                    if (topics.isEmpty()) {
                        end(Status.FAILED_PRECONDITION.withDescription("register topics before replying"));
                        return;
                    }
                    ServeRequest.Reply reply = request.getReply();
                    Incoming call = incoming.remove(reply.getCallId());
                    if (call == null) {
                        log.debug("reply to an unknown or expired call {}", reply.getCallId());
                        return;
                    }
                    respond(call.request(), reply.getStatusCode(), reply.getStatusMessage(), reply.getPayload());
                }
                default -> end(Status.INVALID_ARGUMENT.withDescription("kind: register or reply"));
            }
        }

        private void end(Status status) {
            writer.close(() -> out.onError(status.asRuntimeException()));
            ended();
        }

        private void ended() {
            ended = true;
            topics.forEach(t -> {
                List<ServeSession> list = servers.get(t);
                if (list != null) {
                    list.remove(this);
                }
            });
            // calls handed to this stream will not be answered by it
            incoming.values().removeIf(c -> {
                if (c.session() == this) {
                    respond(c.request(), Status.Code.UNAVAILABLE.value(), "the handler went away", ByteString.EMPTY);
                    return true;
                }
                return false;
            });
        }

        @Override
        public void onError(Throwable t) {
            writer.close(() -> { });
            ended();
        }

        @Override
        public void onCompleted() {
            writer.close(out::onCompleted);
            ended();
        }
    }

    public ServeSession serve(ServerCallStreamObserver<ServeResponse> out, java.util.function.Predicate<String> topicAllowed) {
        return new ServeSession(out, topicAllowed);
    }

    /** A REQUEST for this cell: to a serve stream of its topic, or answered UNIMPLEMENTED when there is none. */
    void request(CellMessage m) {
        List<ServeSession> list = servers.get(m.getTopic());
        if (list == null || list.isEmpty()) {
            respond(m, Status.Code.UNIMPLEMENTED.value(), "no handler serves topic " + m.getTopic() + " on cell "
                    + router.selfId(), ByteString.EMPTY);
            return;
        }
        ServeSession session = list.get(Math.floorMod(roundRobin.getAndIncrement(), list.size()));
        long sentMillis = m.getTimestamp().getSeconds() * 1000 + m.getTimestamp().getNanos() / 1_000_000;
        long timeoutMillis = m.hasTimeout() ? m.getTimeout().getSeconds() * 1000 + m.getTimeout().getNanos() / 1_000_000
                : router.properties().routing().callTimeout().toMillis();
        long deadline = sentMillis + timeoutMillis;
        if (incoming.putIfAbsent(m.getMessageId(), new Incoming(m, session, deadline)) != null) {
            return;
        }
        boolean queued = session.writer.offer(ServeResponse.newBuilder().setCall(ServeResponse.IncomingCall.newBuilder()
                .setCallId(m.getMessageId()).setTopic(m.getTopic()).setSourceCellId(m.getSourceCellId())
                .setPayload(m.getPayload())
                .setDeadline(Timestamp.newBuilder().setSeconds(deadline / 1000).setNanos((int) (deadline % 1000) * 1_000_000)))
                .build(), 0);
        if (!queued) {
            incoming.remove(m.getMessageId());
            respond(m, Status.Code.RESOURCE_EXHAUSTED.value(), "the handler of topic " + m.getTopic() + " is overloaded",
                    ByteString.EMPTY);
        }
    }

    private void respond(CellMessage request, int code, String message, ByteString payload) {
        CellMessage response = router.seal(MessageKind.MESSAGE_KIND_RESPONSE, request.getTopic(),
                request.getSourceCellId(), code == 0 ? payload : ByteString.EMPTY, request.getPriority(),
                router.properties().routing().maxHops(), b -> b.setInReplyTo(request.getMessageId()).setStatusCode(code)
                        .setStatusMessage(message == null ? "" : message));
        // fast path: a link towards the caller is open, hand it over on this thread; otherwise (a dial, a full
        // queue) a virtual thread sends it with acknowledgement and retries
        if (!router.dispatchIfRouted(response)) {
            responders.execute(() -> {
                try {
                    router.send(response, true, System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10));
                } catch (StatusException e) {
                    log.debug("response to {} not delivered: {}", request.getSourceCellId(), e.getStatus());
                }
            });
        }
    }

    // ---- calling ------------------------------------------------------------------------------------------

    /** Registers a call this cell is about to send; the future completes with the response envelope. */
    CompletableFuture<CellMessage> expectResponse(CellMessage request) {
        CompletableFuture<CellMessage> f = new CompletableFuture<>();
        outgoing.put(request.getMessageId(), new Outgoing(request.getDestinationCellId(), f));
        return f;
    }

    void forget(CellMessage request) {
        outgoing.remove(request.getMessageId());
    }

    /** A RESPONSE for this cell: completes the call it answers, if it came from the cell that was called. */
    void response(CellMessage m) {
        Outgoing call = outgoing.get(m.getInReplyTo());
        if (call != null && call.destination().equals(m.getSourceCellId()) && outgoing.remove(m.getInReplyTo(), call)) {
            call.response().complete(m);
        }
    }

    /**
     * Calls {@code destination}'s handler of the request's topic and waits for the answer until
     * {@code deadlineNanos}: the payload, or the handler's error status, or DEADLINE_EXCEEDED / UNAVAILABLE.
     */
    public CellMessage call(CellMessage request, long deadlineNanos) throws StatusException {
        CompletableFuture<CellMessage> response = expectResponse(request);
        try {
            router.send(request, true, deadlineNanos);
            long remaining = deadlineNanos - System.nanoTime();
            CellMessage r = response.get(Math.max(0, remaining), java.util.concurrent.TimeUnit.NANOSECONDS);
            if (r.getStatusCode() != 0) {
                throw Status.fromCodeValue(r.getStatusCode()).withDescription(r.getStatusMessage()).asException();
            }
            return r;
        } catch (java.util.concurrent.TimeoutException e) {
            throw Status.DEADLINE_EXCEEDED.withDescription("no answer from cell " + request.getDestinationCellId()
                    + " before the deadline").asException();
        } catch (java.util.concurrent.ExecutionException e) {
            throw Status.INTERNAL.withCause(e.getCause()).asException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted").asException();
        } finally {
            forget(request);
        }
    }

    /** Drops incoming calls past their deadline (their callers have given up). */
    void expire() {
        long now = clock.millis();
        incoming.values().removeIf(c -> c.deadlineMillis() < now);
    }

    void close() {
        responders.shutdownNow();
    }
}
