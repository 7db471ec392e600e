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
import io.grpc.stub.StreamObserver;

/**
 * A client's {@code CasService/Put}: streams bytes in pieces and waits for the answer. Used by the command line,
 * the benchmarks and the tests, so that all of them put the same way.
 */
public final class BlobUpload {

    private BlobUpload() {
    }

    /**
     * Puts {@code data} in messages of at most {@code pieceBytes}; the first message also carries {@code first}'s
     * fields (expected hash, media type). At least one message is sent, so an empty blob reaches the service
     * (which refuses it). A refusal is thrown as the service's {@link StatusRuntimeException}.
     */
    public static PutResponse put(Channel channel, byte[] data, int pieceBytes, PutRequest first, Duration timeout)
            throws InterruptedException, TimeoutException {
        if (pieceBytes < 1) {
            throw new IllegalArgumentException("pieceBytes must be positive");
        }
        CompletableFuture<PutResponse> result = new CompletableFuture<>();
        StreamObserver<PutRequest> requests = CasServiceGrpc.newStub(channel).put(new StreamObserver<>() {
            @Override
            public void onNext(PutResponse value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                result.completeExceptionally(new IllegalStateException("the put completed without an answer"));
            }
        });
        int offset = 0;
        do {
            int n = Math.min(pieceBytes, data.length - offset);
            PutRequest.Builder msg = offset == 0 ? first.toBuilder() : PutRequest.newBuilder();
            requests.onNext(msg.setData(ByteString.copyFrom(data, offset, n)).build());
            offset += n;
        } while (offset < data.length);
        requests.onCompleted();
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
