package io.celluler.consensus.engine;

import io.celluler.core.hash.Sha256;

/** A transaction as the engine sees it: opaque bytes named by their SHA-256 (hex). */
public record Tx(String id, byte[] data) {

    public static Tx of(byte[] data) {
        return new Tx(Sha256.hexOf(data), data.clone());
    }

    public int size() {
        return data.length;
    }
}
