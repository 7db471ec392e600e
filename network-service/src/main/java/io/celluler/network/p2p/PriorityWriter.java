package io.celluler.network.p2p;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Writes to one gRPC stream from any thread, highest priority lane first, only while the transport is ready
 * (gRPC flow control): what the peer cannot take yet waits in bounded per-lane queues, and a full lane refuses
 * more ({@link #offer} answers false) — backpressure instead of unbounded buffering. Call {@link #drain} from
 * the stream's on-ready handler.
 *
 * @param <T> what is written
 */
final class PriorityWriter<T> {

    private final ArrayDeque<T>[] lanes;
    private final int[] capacities;
    private final BooleanSupplier ready;
    private final Consumer<T> emit;
    private boolean closed;

    /** {@code capacities[i]}: how many items lane i (0 = most urgent) holds at most. */
    @SuppressWarnings("unchecked")
    PriorityWriter(int[] capacities, BooleanSupplier ready, Consumer<T> emit) {
        this.capacities = capacities.clone();
        this.lanes = new ArrayDeque[capacities.length];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new ArrayDeque<>();
        }
        this.ready = ready;
        this.emit = emit;
    }

    /** Queues {@code item} on {@code lane} and writes what the transport takes; false when the lane is full or closed. */
    synchronized boolean offer(T item, int lane) {
        if (closed || lanes[lane].size() >= capacities[lane]) {
            return false;
        }
        lanes[lane].addLast(item);
        drain();
        return true;
    }

    /** Writes queued items, most urgent lane first, while the transport is ready. */
    synchronized void drain() {
        while (!closed && ready.getAsBoolean()) {
            T next = null;
            for (ArrayDeque<T> lane : lanes) {
                next = lane.pollFirst();
                if (next != null) {
                    break;
                }
            }
            if (next == null) {
                return;
            }
            emit.accept(next);
        }
    }

    /** Items waiting. */
    synchronized int queued() {
        int n = 0;
        for (ArrayDeque<T> lane : lanes) {
            n += lane.size();
        }
        return n;
    }

    /**
     * Stops writing; runs {@code last} (e.g. a goodbye and completing the stream) under the writer's lock so
     * that nothing is written after it. Items still queued are dropped.
     */
    synchronized void close(Runnable last) {
        if (!closed) {
            closed = true;
            for (ArrayDeque<T> lane : lanes) {
                lane.clear();
            }
            last.run();
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }
}
