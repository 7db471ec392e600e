package io.celluler.network.engine;

import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.SigningBytes;
import io.celluler.proto.p2p.v1.CellMessage;

/**
 * Signing of the cell-to-cell envelope ({@code celluler.p2p.v1.CellMessage}).
 *
 * <p>Signing bytes: {@code "celluler.p2p.v1.CellMessage"}, a zero byte, then the protobuf encoding of the
 * envelope with {@code message_id}, {@code signature} and the hop fields ({@code ttl}, {@code relay_path})
 * cleared. The message id is the hex SHA-256 of the signing bytes, so it names the signed content and a relay
 * cannot change either without being caught.
 *
 * <p>Version 2: the Ed25519 signature is over that 32-byte digest, not over the signing bytes themselves. Ed25519
 * hashes its whole input with SHA-512 twice to sign and once to verify, and BouncyCastle's SHA-512 has no CPU
 * instructions behind it, so for a consensus proposal of half a megabyte the hashing cost more than the curve
 * arithmetic; the JDK's SHA-256 (computed for the message id anyway) runs on the CPU's SHA extensions.
 */
public final class Envelopes {

    public static final int VERSION = 2;
    public static final int NONCE_BYTES = 16;

    private Envelopes() {
    }

    /** The bytes the source signs. */
    public static byte[] signingBytes(CellMessage m) {
        return SigningBytes.of(CellMessage.getDescriptor().getFullName(),
                m.toBuilder().clearMessageId().clearSignature().clearTtl().clearRelayPath().build());
    }

    /** The 32 bytes the source signs: the SHA-256 of the signing bytes (hex: the message id). */
    public static byte[] digest(CellMessage m) {
        return Sha256.newDigest().digest(signingBytes(m));
    }

    /**
     * Seals an envelope as {@code identity}: sets the version, source and its key, then the message id and the
     * signature. The caller has set everything else, the timestamp and a fresh random nonce included (an engine
     * has no clock and no randomness of its own).
     */
    public static CellMessage seal(CellMessage.Builder m, CellIdentity identity) {
        m.setVersion(VERSION).setSourceCellId(identity.cellId())
                .setSourcePublicKey(com.google.protobuf.ByteString.copyFrom(identity.publicKey()));
        byte[] digest = digest(m.build());
        return m.setMessageId(Sha256.hex(digest))
                .setSignature(com.google.protobuf.ByteString.copyFrom(identity.sign(digest)))
                .build();
    }
}
