package io.celluler.core.identity;

import java.util.Arrays;

import io.celluler.core.hash.Sha256;

/**
 * A cell's identity: its Ed25519 key pair, and its cell id — the lowercase hex SHA-256 of the public key.
 * Anyone holding a public key can check the id it claims ({@link #cellIdOf}); only the cell can sign.
 */
public final class CellIdentity {

    private final byte[] privateSeed;
    private final Ed25519.SigningKey signingKey;
    private final byte[] publicKey;
    private final String cellId;

    public CellIdentity(byte[] privateSeed) {
        this.privateSeed = privateSeed.clone();
        this.signingKey = Ed25519.signingKey(this.privateSeed);
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
        return Ed25519.sign(signingKey, message);
    }

    /**
     * The private key as a JCA key (PKCS#8 encoded Ed25519), for the JDK's TLS stack; signatures of the cell's
     * own messages use {@link #sign}, which is much faster.
     */
    public java.security.PrivateKey jcaPrivateKey() {
        // RFC 8410 §7: an Ed25519 PrivateKeyInfo is this fixed DER prefix followed by the 32-byte seed
        byte[] prefix = java.util.HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] pkcs8 = new byte[prefix.length + privateSeed.length];
        System.arraycopy(prefix, 0, pkcs8, 0, prefix.length);
        System.arraycopy(privateSeed, 0, pkcs8, prefix.length, privateSeed.length);
        try {
            return java.security.KeyFactory.getInstance("Ed25519")
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot load an Ed25519 key", e);
        }
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
