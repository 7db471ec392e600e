package io.celluler.consensus.node;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The consensus loop's inputs in two bounded lanes: <em>urgent</em> (proposals, votes, timeouts, ledger answers:
 * the round's progress) and <em>normal</em> (client submissions, gossiped transactions, queries). Urgent inputs
 * are taken first, so a vote never waits behind thousands of queued submissions; under load the submissions queue
 * here (bounded: a full lane refuses) while the rounds keep their pace. One consumer (the loop thread); any number
 * of producers.
 */
final class Inbox {

    private final ArrayBlockingQueue<Runnable> urgent;
    private final ArrayBlockingQueue<Runnable> normal;
    private volatile Thread consumer;

    Inbox(int capacityPerLane) {
        this.urgent = new ArrayBlockingQueue<>(capacityPerLane);
        this.normal = new ArrayBlockingQueue<>(capacityPerLane);
    }

    /** The thread that takes (it is woken by each offer). */
    void consumer(Thread t) {
        this.consumer = t;
    }

    /** False when the lane is full. */
    boolean offerUrgent(Runnable r) {
        return wake(urgent.offer(r));
    }

    /** False when the lane is full. */
    boolean offer(Runnable r) {
        return wake(normal.offer(r));
    }

    private boolean wake(boolean queued) {
        Thread t = consumer;
        if (queued && t != null) {
            LockSupport.unpark(t);
        }
        return queued;
    }

    /** The next urgent input, or null. */
    Runnable pollUrgent() {
        return urgent.poll();
    }

    /** The next normal input, or null. */
    Runnable pollNormal() {
        return normal.poll();
    }

    boolean hasUrgent() {
        return !urgent.isEmpty();
    }

    boolean isEmpty() {
        return urgent.isEmpty() && normal.isEmpty();
    }

    /**
     * Parks the consumer until an input arrives or {@code nanos} pass (or it is interrupted; the caller checks).
     */
    void awaitInput(long nanos) {
        if (nanos > 0 && isEmpty()) {
            LockSupport.parkNanos(this, nanos);
        }
    }
}
