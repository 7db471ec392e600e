package io.celluler.bench;

import java.util.Arrays;

/** Latency samples of one run (bounded), summarised as throughput and percentiles. */
final class Latencies {

    private final long[] nanos;
    private int count;
    private long total;

    Latencies(int capacity) {
        this.nanos = new long[capacity];
    }

    synchronized void add(long[] samples, int n, long ops) {
        int k = Math.min(n, nanos.length - count);
        System.arraycopy(samples, 0, nanos, count, k);
        count += k;
        total += ops;
    }

    long total() {
        return total;
    }

    String summary(double seconds) {
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        return String.format("ops=%d ops/s=%.0f p50=%.3fms p99=%.3fms max=%.3fms", total, total / seconds,
                pct(sorted, 0.50), pct(sorted, 0.99), sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6);
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}
