package io.celluler.consensus.node;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

import com.google.protobuf.ByteString;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.PriorityClass;
import io.celluler.proto.network.v1.SendRequest;
import io.celluler.proto.network.v1.SendResponse;
import io.celluler.proto.network.v1.SubscribeRequest;
import io.celluler.proto.network.v1.SubscribeResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;

/**
 * How validators reach each other: this cell's network-service, over gRPC. Messages go out with {@code Send} on
 * the topic {@value #TOPIC} (the network-service signs the envelope and routes it); they come in through one
 * {@code Subscribe} stream of that topic, each with its authenticated source cell.
 */
public final class NetworkTransport implements AutoCloseable {

    public static final String TOPIC = "consensus";

    private final ManagedChannel channel;
    private final NetworkServiceGrpc.NetworkServiceStub async;
    private final NetworkServiceGrpc.NetworkServiceBlockingStub blocking;
    private final AtomicLong sendFailures = new AtomicLong();
    private volatile String lastSendFailure = "";

    public NetworkTransport(String address) {
        this.channel = ManagedChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(4 << 20).build();
        this.async = NetworkServiceGrpc.newStub(channel);
        this.blocking = NetworkServiceGrpc.newBlockingStub(channel);
    }

    /** This cell's id, from its network-service (throws while it is not reachable). */
    public String cellId() {
        return blocking.withDeadlineAfter(2, TimeUnit.SECONDS).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId();
    }

    /** Sends without waiting; a failure is counted (consensus retries by itself: timeouts, sync). */
    public void send(String toCell, byte[] payload, boolean bulk) {
        SendRequest req = SendRequest.newBuilder().setDestinationCellId(toCell).setTopic(TOPIC)
                .setPayload(ByteString.copyFrom(payload))
                .setPriority(bulk ? PriorityClass.PRIORITY_CLASS_BULK : PriorityClass.PRIORITY_CLASS_CONSENSUS).build();
        async.withDeadlineAfter(5, TimeUnit.SECONDS).send(req, new StreamObserver<>() {
            @Override
            public void onNext(SendResponse value) {
            }

            @Override
            public void onError(Throwable t) {
                sendFailures.incrementAndGet();
                lastSendFailure = t.getMessage();
            }

            @Override
            public void onCompleted() {
            }
        });
    }

    /**
     * Receives the topic's messages: {@code onMessage(sourceCell, payload)} on gRPC's threads; {@code onEnd} once
     * the stream ends (the caller subscribes again).
     */
    public void subscribe(BiConsumer<String, byte[]> onMessage, Runnable onEnd) {
        async.subscribe(SubscribeRequest.newBuilder().setTopic(TOPIC).build(), new StreamObserver<>() {
            @Override
            public void onNext(SubscribeResponse r) {
                onMessage.accept(r.getMessage().getSourceCellId(), r.getMessage().getPayload().toByteArray());
            }

            @Override
            public void onError(Throwable t) {
                onEnd.run();
            }

            @Override
            public void onCompleted() {
                onEnd.run();
            }
        });
    }

    public long sendFailures() {
        return sendFailures.get();
    }

    public String lastSendFailure() {
        return lastSendFailure;
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
