package io.celluler.gateway.transcode;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;

import com.google.protobuf.DynamicMessage;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;

/**
 * Receives the responses of one gRPC call and hands them to WebFlux with backpressure.
 *
 * <p>The HTTP status must be chosen before the body is written, yet a server stream's error (NOT_FOUND for
 * an unknown blob, say) only shows as the call's close. So the bridge asks for one message first;
 * {@link #firstSignal()} completes on that message or on the close, and then {@link #earlyError()} tells
 * whether the call failed before producing anything. The remaining messages are requested from the
 * server only as fast as the HTTP client reads them.
 */
final class CallBridge extends ClientCall.Listener<DynamicMessage> {

    private final ClientCall<DynamicMessage, DynamicMessage> call;
    private final CompletableFuture<Void> firstSignal = new CompletableFuture<>();
    private final Queue<DynamicMessage> buffered = new ArrayDeque<>();
    private Status closeStatus;
    private Metadata closeTrailers;
    private FluxSink<DynamicMessage> sink;
    private volatile Runnable onReady = () -> { };

    CallBridge(ClientCall<DynamicMessage, DynamicMessage> call) {
        this.call = call;
    }

    /** Starts the call and asks for the first response. */
    void start(Metadata headers) {
        call.start(this, headers);
        call.request(1);
    }

    /** Runs when the call can take more outgoing messages (client streams use it for backpressure). */
    void onReady(Runnable action) {
        this.onReady = action;
    }

    @Override
    public void onReady() {
        onReady.run();
    }

    ClientCall<DynamicMessage, DynamicMessage> call() {
        return call;
    }

    @Override
    public void onMessage(DynamicMessage message) {
        synchronized (this) {
            if (sink != null) {
                sink.next(message);
            } else {
                buffered.add(message);
            }
        }
        // outside the lock: completing runs the response chain on this thread
        firstSignal.complete(null);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
        synchronized (this) {
            closeStatus = status;
            closeTrailers = trailers;
            if (sink != null) {
                terminate(sink);
            }
        }
        firstSignal.complete(null);
    }

    /** Completes when the first response or the close arrived (cancelling the wait leaves the call alone). */
    Mono<Void> firstSignal() {
        return Mono.fromFuture(firstSignal, true);
    }

    /** The call's failure when it closed with an error before sending any message, else null. */
    synchronized io.grpc.StatusRuntimeException earlyError() {
        if (buffered.isEmpty() && closeStatus != null && !closeStatus.isOk()) {
            return closeStatus.asRuntimeException(closeTrailers);
        }
        return null;
    }

    /** All responses (the buffered first one included), requested from the server on demand. */
    Flux<DynamicMessage> responses() {
        return Flux.create(s -> {
            synchronized (this) {
                buffered.forEach(s::next);
                buffered.clear();
                if (closeStatus != null) {
                    terminate(s);
                } else {
                    sink = s;
                }
            }
            s.onRequest(n -> {
                synchronized (this) {
                    if (closeStatus == null) {
                        call.request((int) Math.min(n, Integer.MAX_VALUE));
                    }
                }
            });
            s.onCancel(() -> call.cancel("the HTTP client went away", null));
        }, FluxSink.OverflowStrategy.BUFFER);
    }

    private void terminate(FluxSink<DynamicMessage> s) {
        if (closeStatus.isOk()) {
            s.complete();
        } else {
            s.error(closeStatus.asRuntimeException(closeTrailers));
        }
    }
}
