package io.celluler.consensus.node;

/**
 * How often a validator sends the transactions it admitted to the others: every {@code rounds} × the measured round
 * time, within [{@code min}, {@code max}]; sooner when a batch fills a message; at once when nothing was sent for a
 * whole interval (the first transaction after a quiet spell does not wait).
 *
 * <p>Why the round time: every gossip message costs the network-services a signature, a verification and three gRPC
 * hops whatever its size, the same as a vote, and competes with the round's own messages for the CPU. Tied to the
 * round time, gossip stays a fixed share of the consensus traffic at any load — while the wait it adds stays a
 * fraction of the rounds a transaction waits for anyway. Measured on this machine (docs/benchmarks.md, third pass):
 * fixed 20 ms beat 100 ms at 1,000 tx/s (rounds of ~11 ms) and lost to it at 10,000 tx/s (rounds of 20–30 ms); the
 * pacer picks ~20 ms at the first, 40–60 ms at the second, and 100 ms when rounds slow down further.
 *
 * <p>Round time: an exponentially weighted mean (weight 1/8) of the time per round between two observations of the
 * current round; an idle chain's slow rounds (empty blocks every idle-proposal-delay) and timed-out rounds count
 * too, and push the interval to its maximum. Loop thread only.
 */
final class GossipPacer {

    private final long minNanos;
    private final long maxNanos;
    private final double rounds;

    private double roundNanos = -1;
    private long lastRound;
    private long lastRoundAtNanos;
    private boolean seenRound;
    private long lastSentNanos;
    private boolean sentOnce;

    GossipPacer(long minNanos, long maxNanos, double rounds) {
        if (minNanos < 0 || maxNanos < minNanos || rounds <= 0) {
            throw new IllegalArgumentException("celluler.consensus.gossip-interval-min must be at most gossip-interval-max,"
                    + " and gossip-rounds positive");
        }
        this.minNanos = minNanos;
        this.maxNanos = maxNanos;
        this.rounds = rounds;
    }

    /** The engine's current round, seen at {@code nowNanos}. */
    void observeRound(long round, long nowNanos) {
        if (!seenRound || round < lastRound) {
            seenRound = true;
            lastRound = round;
            lastRoundAtNanos = nowNanos;
            return;
        }
        if (round == lastRound) {
            return;
        }
        double perRound = (nowNanos - lastRoundAtNanos) / (double) (round - lastRound);
        roundNanos = roundNanos < 0 ? perRound : roundNanos + (perRound - roundNanos) / 8;
        lastRound = round;
        lastRoundAtNanos = nowNanos;
    }

    /** The current interval: {@code rounds} × the mean round time, within [min, max] (max before any round). */
    long intervalNanos() {
        if (roundNanos < 0) {
            return maxNanos;
        }
        return Math.max(minNanos, Math.min(maxNanos, (long) (rounds * roundNanos)));
    }

    /** True when the waiting batch goes now: the interval passed since the last one, or the batch fills a message. */
    boolean due(long nowNanos, boolean batchFull) {
        return batchFull || !sentOnce || nowNanos - lastSentNanos >= intervalNanos();
    }

    void sent(long nowNanos) {
        lastSentNanos = nowNanos;
        sentOnce = true;
    }
}
