package io.celluler.core.limits;

/** A token bucket: {@code ratePerSecond} tokens a second, at most {@code burst} saved up. Thread-safe. */
public final class TokenBucket {

    private final double ratePerNano;
    private final double burst;
    private double tokens;
    private long lastNanos;

    public TokenBucket(double ratePerSecond, double burst, long nowNanos) {
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
    }

    public synchronized boolean tryTake(long nowNanos) {
        tokens = Math.min(burst, tokens + (nowNanos - lastNanos) * ratePerNano);
        lastNanos = nowNanos;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Nanoseconds until one token is there (0 when there is one now). */
    public synchronized long nanosUntilToken(long nowNanos) {
        double have = Math.min(burst, tokens + (nowNanos - lastNanos) * ratePerNano);
        return have >= 1 ? 0 : (long) Math.ceil((1 - have) / ratePerNano);
    }
}
