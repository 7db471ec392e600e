package io.celluler.core.cas;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.google.protobuf.ByteString;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * A client's {@code CasService/Put}: streams bytes in pieces and waits for the answer. Used by the command line,
 * the benchmarks and the tests, so that all of them put the same way.
 */
public final class ContentUpload {

    private ContentUpload() {
    }

    /**
     * Puts {@code data} in messages of at most {@code pieceBytes}; the first message also carries {@code first}'s
     * fields (expected hash, media type). At least one message is sent, so that empty content reaches the service
     * (empty content is allowed). A refusal is thrown as the service's {@link StatusRuntimeException}.
     */
    public static PutResponse put(Channel channel, byte[] data, int pieceBytes, PutRequest first, Duration timeout)
            throws InterruptedException, TimeoutException {
        if (pieceBytes < 1) {
            throw new IllegalArgumentException("pieceBytes must be positive");
        }
        CompletableFuture<PutResponse> result = new CompletableFuture<>();
        Object readiness = new Object();
        java.util.concurrent.atomic.AtomicReference<ClientCallStreamObserver<PutRequest>> call =
                new java.util.concurrent.atomic.AtomicReference<>();
        CasServiceGrpc.newStub(channel).put(new ClientResponseObserver<PutRequest, PutResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<PutRequest> requestStream) {
                call.set(requestStream);
                requestStream.setOnReadyHandler(() -> {
                    synchronized (readiness) {
                        readiness.notifyAll();
                    }
                });
            }

            @Override
            public void onNext(PutResponse value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
                synchronized (readiness) {
                    readiness.notifyAll();
                }
            }

            @Override
            public void onCompleted() {
                result.completeExceptionally(new IllegalStateException("the put completed without an answer"));
            }
        });
        ClientCallStreamObserver<PutRequest> requests = call.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        int offset = 0;
        do {
            // flow control: send only as fast as the service takes, never buffering the whole content in the client
            synchronized (readiness) {
                while (!requests.isReady() && !result.isDone()) {
                    if (System.nanoTime() > deadline) {
                        requests.cancel("timed out", null);
                        throw new TimeoutException("the put did not finish within " + timeout);
                    }
                    readiness.wait(100);
                }
            }
            if (result.isDone()) {
                break; // refused already: the answer below says why
            }
            int n = Math.min(pieceBytes, data.length - offset);
            PutRequest.Builder msg = offset == 0 ? first.toBuilder() : PutRequest.newBuilder();
            requests.onNext(msg.setData(ByteString.copyFrom(data, offset, n)).build());
            offset += n;
        } while (offset < data.length);
        if (!result.isDone()) {
            requests.onCompleted();
        }
        try {
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        }
    }
}
