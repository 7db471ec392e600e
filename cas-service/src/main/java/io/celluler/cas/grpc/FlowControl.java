package io.celluler.cas.grpc;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.grpc.stub.ServerCallStreamObserver;

/**
 * Lets a thread that writes a server stream wait until the client can take more (HTTP/2 flow control), so a slow
 * reader never makes the server buffer a whole object. Create it on the call's thread, before returning from the
 * service method (the handlers must be set then); use it from one writing thread.
 */
final class FlowControl {

    private final ServerCallStreamObserver<?> out;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private volatile boolean cancelled;

    FlowControl(ServerCallStreamObserver<?> out) {
        this.out = out;
        out.setOnReadyHandler(this::signal);
        out.setOnCancelHandler(() -> {
            cancelled = true;
            signal();
        });
    }

    /** Waits until the stream is ready for a message; false once the client cancelled (stop writing then). */
    boolean awaitReady() {
        lock.lock();
        try {
            while (!cancelled && !out.isReady()) {
                // bounded wait: a missed signal costs at most this long, never a hang
                changed.await(200, TimeUnit.MILLISECONDS);
            }
            return !cancelled;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    boolean cancelled() {
        return cancelled;
    }

    private void signal() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
