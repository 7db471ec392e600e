package io.celluler.core.grpc;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * A server stream that follows something that grows (a feed's entries, a change feed) until the caller cancels. It
 * sends while the call is ready (gRPC flow control: a slow reader holds nothing but its position), wakes on the
 * source's changes and on the call becoming ready again, and drains on one task of {@code executor} at a time: wakes
 * that come during a drain make it go round once more, never run a second drain beside it.
 *
 * <p>A subclass sets up its position, then calls {@link #start}; {@link #sendAvailable} sends what there is now.
 */
public abstract class LiveStream<T> {

    private final ServerCallStreamObserver<T> out;
    private final Executor executor;
    private final AtomicInteger wanted = new AtomicInteger();
    private volatile Runnable unlisten = () -> { };
    private volatile boolean done;

    protected LiveStream(ServerCallStreamObserver<T> out, Executor executor) {
        this.out = out;
        this.executor = executor;
    }

    /**
     * Starts following: {@code listen} registers a wake-up with the source and answers how to unregister it. Call it
     * from the gRPC method (the call's handlers are set here) once the subclass is ready to send.
     */
    protected final void start(Function<Runnable, Runnable> listen) {
        out.setOnCancelHandler(this::end);
        out.setOnReadyHandler(this::wake);
        Runnable u = listen.apply(this::wake);
        unlisten = u;
        if (done) {
            u.run(); // cancelled while registering
        }
        wake();
    }

    /** Sends what is available now, while {@link #ready}; returns when caught up or the call is not ready. */
    protected abstract void sendAvailable();

    /** The status a failure of {@link #sendAvailable} ends the stream with. */
    protected abstract Status statusOf(RuntimeException failure);

    /** Whether the stream is still on and the call takes another message now. */
    protected final boolean ready() {
        return !done && out.isReady();
    }

    protected final boolean done() {
        return done;
    }

    protected final ServerCallStreamObserver<T> out() {
        return out;
    }

    private void wake() {
        if (!done && wanted.getAndIncrement() == 0) {
            executor.execute(this::drain);
        }
    }

    private void drain() {
        int missed = 1;
        do {
            try {
                sendAvailable();
            } catch (RuntimeException e) {
                fail(statusOf(e));
            }
            missed = wanted.addAndGet(-missed);
        } while (missed != 0);
    }

    private void fail(Status status) {
        if (!done) {
            end();
            try {
                out.onError(status.asRuntimeException());
            } catch (RuntimeException callGone) {
                // the call ended meanwhile: there is no one left to tell
            }
        }
    }

    private void end() {
        done = true;
        unlisten.run();
    }
}
