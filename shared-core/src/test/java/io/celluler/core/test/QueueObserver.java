package io.celluler.core.test;

import java.util.concurrent.BlockingQueue;

import io.grpc.stub.StreamObserver;

/**
 * A gRPC response observer for tests of server streams that stay open (live tails): every message goes into a queue,
 * which the test reads with {@code poll(timeout)}; the stream's end or failure is left to those timeouts.
 */
public final class QueueObserver {

    private QueueObserver() {
    }

    public static <T> StreamObserver<T> into(BlockingQueue<T> queue) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                queue.add(value);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }
}
