package io.celluler.core.identity;

import java.util.Arrays;

import io.celluler.core.hash.Sha256;

/**
 * A cell's identity: its Ed25519 key pair, and its cell id — the lowercase hex SHA-256 of the public key.
 * Anyone holding a public key can check the id it claims ({@link #cellIdOf}); only the cell can sign.
 */
public final class CellIdentity {

    private final byte[] privateSeed;
    private final byte[] publicKey;
    private final String cellId;

    public CellIdentity(byte[] privateSeed) {
        this.privateSeed = privateSeed.clone();
        this.publicKey = Ed25519.publicKey(privateSeed);
        this.cellId = cellIdOf(publicKey);
    }

    /** The cell id a public key stands for. */
    public static String cellIdOf(byte[] publicKey) {
        return Sha256.hexOf(publicKey);
    }

    public String cellId() {
        return cellId;
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }

    public byte[] sign(byte[] message) {
        return Ed25519.sign(privateSeed, message);
    }

    /** The private seed, for storing it; handle with care. */
    byte[] privateSeed() {
        return privateSeed.clone();
    }

    @Override
    public String toString() {
        // never the key
        return "CellIdentity[" + cellId + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CellIdentity other && Arrays.equals(publicKey, other.publicKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }
}
