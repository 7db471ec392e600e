package io.celluler.consensus.grpc;

import java.util.LinkedHashMap;
import java.util.Map;

import com.google.protobuf.ByteString;
import io.celluler.core.limits.TokenBucket;

/**
 * Per-sender rate limits on signed transactions: a {@link TokenBucket} per sender public key, for the most recent
 * {@code maxSenders} senders (an evicted sender starts again with a full bucket, so memory stays bounded).
 */
final class SenderLimits {

    private final int perSecond;
    private final int burst;
    private final Map<ByteString, TokenBucket> buckets;

    SenderLimits(int perSecond, int burst, int maxSenders) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<ByteString, TokenBucket> eldest) {
                return size() > maxSenders;
            }
        };
    }

    /** Takes one token from {@code sender}'s bucket; false when it is empty. */
    boolean tryAcquire(ByteString sender) {
        long now = System.nanoTime();
        TokenBucket bucket;
        synchronized (buckets) {
            bucket = buckets.computeIfAbsent(sender, k -> new TokenBucket(perSecond, burst, now));
        }
        return bucket.tryTake(now);
    }
}
