package io.celluler.consensus.engine;

import io.celluler.core.hash.Sha256;

/**
 * A transaction as the engine sees it: opaque bytes named by an id the caller computed (the service hashes a
 * domain and the canonical encoding; {@link #of} hashes the bytes alone).
 *
 * @param validUntilHeight the last height whose block may hold it (0: no limit); later it expires from the pool
 *                         and a block that holds it is invalid
 */
public record Tx(String id, byte[] data, long validUntilHeight) {

    public Tx(String id, byte[] data) {
        this(id, data, 0);
    }

    public static Tx of(byte[] data) {
        return new Tx(Sha256.hexOf(data), data.clone());
    }

    public int size() {
        return data.length;
    }

    /** False when a block at {@code height} may no longer hold it. */
    public boolean validAt(long height) {
        return validUntilHeight == 0 || height <= validUntilHeight;
    }
}
