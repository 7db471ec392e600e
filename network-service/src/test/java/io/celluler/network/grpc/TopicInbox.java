package io.celluler.network.grpc;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.ReceivedMessage;
import io.celluler.proto.network.v1.SubscribeRequest;
import io.celluler.proto.network.v1.SubscribeResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;

/** For tests: a {@code NetworkService/Subscribe} stream whose messages land in a queue. */
public final class TopicInbox {

    private TopicInbox() {
    }

    /**
     * Subscribes to {@code topic} through {@code channel}. The subscription is in place once the call reached the
     * server, a moment after this returns.
     */
    public static BlockingQueue<ReceivedMessage> subscribe(Channel channel, String topic) {
        BlockingQueue<ReceivedMessage> q = new LinkedBlockingQueue<>();
        NetworkServiceGrpc.newStub(channel).subscribe(SubscribeRequest.newBuilder().setTopic(topic).build(),
                new StreamObserver<SubscribeResponse>() {
                    @Override
                    public void onNext(SubscribeResponse r) {
                        q.add(r.getMessage());
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        return q;
    }
}
