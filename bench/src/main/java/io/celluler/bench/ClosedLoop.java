package io.celluler.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A closed-loop load: {@code callers} threads each call {@code op} back to back; a warm-up, then a measured run. */
final class ClosedLoop {

    interface Op {
        void run() throws Exception;
    }

    private ClosedLoop() {
    }

    /** Warms up, measures, and returns the run's throughput and latency percentiles ({@link Latencies#summary}). */
    static String measure(int callers, int warmupSeconds, int seconds, Op op) throws Exception {
        runFor(callers, op, warmupSeconds, null);
        Latencies lat = new Latencies(5_000_000);
        double elapsed = runFor(callers, op, seconds, lat);
        return lat.summary(elapsed);
    }

    private static double runFor(int callers, Op op, int secs, Latencies into) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int t = 0; t < callers; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                long[] samples = new long[200_000];
                int n = 0;
                long ops = 0;
                try {
                    while (System.nanoTime() < end) {
                        long s = System.nanoTime();
                        op.run();
                        if (n < samples.length) {
                            samples[n++] = System.nanoTime() - s;
                        }
                        ops++;
                    }
                } catch (Exception e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
                if (into != null) {
                    into.add(samples, n, ops);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("benchmark call failed", errors.get(0));
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
