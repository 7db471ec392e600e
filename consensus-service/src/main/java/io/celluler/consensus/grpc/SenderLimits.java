package io.celluler.consensus.grpc;

import java.util.LinkedHashMap;
import java.util.Map;

import com.google.protobuf.ByteString;

/**
 * Per-sender rate limits on signed transactions: a token bucket per sender public key, for the most recent
 * {@code maxSenders} senders (an evicted sender starts again with a full bucket, so memory stays bounded).
 */
final class SenderLimits {

    private final double perSecond;
    private final double burst;
    private final Map<ByteString, double[]> buckets;

    SenderLimits(int perSecond, int burst, int maxSenders) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<ByteString, double[]> eldest) {
                return size() > maxSenders;
            }
        };
    }

    /** Takes one token from {@code sender}'s bucket; false when it is empty. */
    synchronized boolean tryAcquire(ByteString sender) {
        long now = System.nanoTime();
        double[] b = buckets.computeIfAbsent(sender, k -> new double[] {burst, now});
        b[0] = Math.min(burst, b[0] + (now - (long) b[1]) / 1e9 * perSecond);
        b[1] = now;
        if (b[0] < 1) {
            return false;
        }
        b[0] -= 1;
        return true;
    }
}
