package io.celluler.core.task;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;

/**
 * A background pass run every {@code interval} (the first one interval after start) on a daemon thread of its own,
 * as cas-service's garbage collector, replicator and lifecycle worker and data-service's follower run theirs. A pass that throws is logged and the
 * next one runs (a task that throws would otherwise silently end its schedule).
 */
public final class PeriodicPass implements AutoCloseable {

    private final ScheduledExecutorService scheduler;

    public PeriodicPass(String threadName, Duration interval, Logger log, Runnable pass) {
        this.scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name(threadName).factory());
        long every = interval.toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                pass.run();
            } catch (RuntimeException | Error e) {
                log.error("{} pass failed (the next one runs)", threadName, e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /** Stops the schedule and interrupts a pass in progress. */
    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
