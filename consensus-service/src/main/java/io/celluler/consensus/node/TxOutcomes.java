package io.celluler.consensus.node;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What became of transactions that left the pool without a commit (expired), remembered for the last
 * {@code capacity} of them so GetTransaction can say so; older ones are simply unknown. Thread-safe.
 */
public final class TxOutcomes {

    public enum Kind { EXPIRED }

    public record Outcome(Kind kind, String reason) {
    }

    private final Map<String, Outcome> recent;

    public TxOutcomes(int capacity) {
        this.recent = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Outcome> eldest) {
                return size() > capacity;
            }
        };
    }

    public synchronized void expired(String txId, String reason) {
        recent.put(txId, new Outcome(Kind.EXPIRED, reason));
    }

    public synchronized Outcome get(String txId) {
        return recent.get(txId);
    }
}
