package io.celluler.cas.store;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Chunks that uploads in progress hold on to: written (or found) but not referenced by a committed manifest yet.
 * The garbage collector never removes a held chunk: {@link #hold} and {@link #collectUnlessHeld} take the same
 * lock per chunk, so either the collector removed the chunk before the upload held it (and the upload, which checks
 * for the file after holding it, writes it again) or the upload holds it and the collector leaves it.
 */
public final class InFlightChunks {

    private static final int STRIPES = 64;

    private final ConcurrentHashMap<String, Integer> holds = new ConcurrentHashMap<>();
    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

    public InFlightChunks() {
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /** One more hold on a chunk. */
    public void hold(String sha256) {
        ReentrantLock lock = lockOf(sha256);
        lock.lock();
        try {
            holds.merge(sha256, 1, Integer::sum);
        } finally {
            lock.unlock();
        }
    }

    /** One hold fewer. */
    public void release(String sha256) {
        holds.computeIfPresent(sha256, (k, n) -> n == 1 ? null : n - 1);
    }

    public boolean held(String sha256) {
        return holds.containsKey(sha256);
    }

    /** What the collector does to remove a chunk; true when it removed it. */
    @FunctionalInterface
    public interface Removal {
        boolean remove() throws Exception;
    }

    /** Runs {@code removal} unless an upload holds the chunk; false when held or when the removal declined. */
    public boolean collectUnlessHeld(String sha256, Removal removal) throws Exception {
        ReentrantLock lock = lockOf(sha256);
        lock.lock();
        try {
            return !holds.containsKey(sha256) && removal.remove();
        } finally {
            lock.unlock();
        }
    }

    private ReentrantLock lockOf(String sha256) {
        return locks[Math.floorMod(sha256.hashCode(), STRIPES)];
    }
}
