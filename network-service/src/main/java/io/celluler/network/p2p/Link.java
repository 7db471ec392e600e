package io.celluler.network.p2p;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

import io.celluler.core.limits.TokenBucket;
import io.celluler.proto.p2p.v1.Goodbye;
import io.celluler.proto.p2p.v1.GoodbyeReason;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.Priority;
import io.grpc.Status;
import io.grpc.stub.CallStreamObserver;

/**
 * One authenticated link to another cell, the same whichever side dialled: the peer's verified hello, a
 * {@link PriorityWriter} over the stream (lane 0 for link frames — hellos, acknowledgements, keep-alives — then
 * consensus, control and bulk), counters, and the round-trip time measured by keep-alives.
 */
public final class Link {

    static final int LANE_LINK = 0;
    static final int LANE_CONSENSUS = 1;
    static final int LANE_CONTROL = 2;
    static final int LANE_BULK = 3;

    private final String peerCellId;
    private final Hello peerHello;
    private final boolean outbound;
    private final String dialledAddress;
    private final PriorityWriter<LinkFrame> writer;
    private final java.util.function.Consumer<LinkFrame> emit;
    private final Runnable complete;
    private final java.util.function.Consumer<Throwable> fail;
    private final Runnable release;
    private final TokenBucket messageRate;

    volatile long lastReceivedMillis;
    volatile long lastMessageMillis;
    private volatile long rttNanos = -1;
    private long keepaliveSeq;
    private long keepaliveSentNanos;
    final LongAdder messagesIn = new LongAdder();
    final LongAdder messagesOut = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();

    /**
     * @param dialledAddress the address this cell dialled (verified by TLS to be the peer's), or null for a link
     *                the peer dialled
     * @param stream  the gRPC stream frames go out on (server or client side)
     * @param wrap    turns a frame into that stream's message type
     * @param release what to free once the link is closed (an outbound link's channel)
     */
    <T> Link(String peerCellId, Hello peerHello, String dialledAddress, long nowMillis, CallStreamObserver<T> stream,
            Function<LinkFrame, T> wrap, int queueCapacity, TokenBucket messageRate, Runnable release) {
        this.peerCellId = peerCellId;
        this.peerHello = peerHello;
        this.outbound = dialledAddress != null;
        this.dialledAddress = dialledAddress;
        this.lastReceivedMillis = nowMillis;
        this.lastMessageMillis = nowMillis;
        this.emit = f -> stream.onNext(wrap.apply(f));
        this.complete = stream::onCompleted;
        this.fail = stream::onError;
        this.release = release;
        this.messageRate = messageRate;
        int[] capacities = {Math.max(queueCapacity, 1024) * 4, queueCapacity, queueCapacity, queueCapacity};
        this.writer = new PriorityWriter<>(capacities, stream::isReady, emit);
    }

    public String peerCellId() {
        return peerCellId;
    }

    public Hello peerHello() {
        return peerHello;
    }

    /** The address this cell dialled to open the link (proved by TLS to be the peer's), or null if inbound. */
    public String dialledAddress() {
        return dialledAddress;
    }

    /** The P2P addresses the peer advertised in its hello (its own claim, not verified). */
    public List<String> peerAddresses() {
        return peerHello.getListenAddressesList();
    }

    public boolean outbound() {
        return outbound;
    }

    /** The cell that dialled this link (a simultaneous dial keeps the link dialled by the lower cell id). */
    String dialer(String selfCellId) {
        return outbound ? selfCellId : peerCellId;
    }

    public long messagesIn() {
        return messagesIn.sum();
    }

    public long messagesOut() {
        return messagesOut.sum();
    }

    public long bytesIn() {
        return bytesIn.sum();
    }

    public long bytesOut() {
        return bytesOut.sum();
    }

    /** Smoothed round-trip time in nanoseconds, or -1 before the first keep-alive came back. */
    public long rttNanos() {
        return rttNanos;
    }

    static int lane(Priority priority) {
        return switch (priority) {
            case PRIORITY_CONSENSUS -> LANE_CONSENSUS;
            case PRIORITY_BULK -> LANE_BULK;
            default -> LANE_CONTROL;
        };
    }

    /** Queues a frame; false when its lane is full (backpressure) or the link is closed. */
    boolean send(LinkFrame frame, int lane) {
        return writer.offer(frame, lane);
    }

    /** Called by the stream's on-ready handler. */
    void drain() {
        writer.drain();
    }

    boolean tryReceiveMessage(long nowNanos) {
        return messageRate.tryTake(nowNanos);
    }

    /** Sends a keep-alive and remembers when, for the round trip. */
    synchronized void keepalive(long nowNanos) {
        keepaliveSeq++;
        keepaliveSentNanos = nowNanos;
        send(LinkFrame.newBuilder().setKeepalive(io.celluler.proto.p2p.v1.Keepalive.newBuilder().setSeqNo(keepaliveSeq))
                .build(), LANE_LINK);
    }

    /** A keep-alive reply: returns the round trip in nanoseconds, or -1 when it does not answer the last one. */
    synchronized long keepaliveReply(long seq, long nowNanos) {
        if (seq != keepaliveSeq || keepaliveSentNanos == 0) {
            return -1;
        }
        long rtt = nowNanos - keepaliveSentNanos;
        keepaliveSentNanos = 0;
        rttNanos = rttNanos < 0 ? rtt : (rttNanos * 7 + rtt) / 8;
        return rtt;
    }

    /**
     * Closes the link: a goodbye, then the stream ends — with {@code error} when set (the peer sees that status),
     * normally otherwise. Idempotent.
     */
    void close(GoodbyeReason reason, String detail, Status error) {
        writer.close(() -> {
            try {
                emit.accept(LinkFrame.newBuilder()
                        .setGoodbye(Goodbye.newBuilder().setReason(reason).setDetail(detail)).build());
                if (error != null) {
                    fail.accept(error.asRuntimeException());
                } else {
                    complete.run();
                }
            } catch (RuntimeException alreadyClosed) {
                // the stream ended under us: nothing more to tell the peer
            }
        });
        release.run();
    }

    /** The stream ended from the other side: stop writing and free resources. */
    void closed() {
        writer.close(() -> { });
        release.run();
    }

    public boolean isClosed() {
        return writer.isClosed();
    }

    @Override
    public String toString() {
        return (outbound ? "link to " : "link from ") + peerCellId.substring(0, 12);
    }
}
