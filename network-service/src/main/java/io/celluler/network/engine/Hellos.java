package io.celluler.network.engine;

import com.google.protobuf.ByteString;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.core.identity.SigningBytes;
import io.celluler.proto.p2p.v1.Hello;

/**
 * The signed hello a cell gives about itself (first frame of a link, answer of {@code Identify}).
 * Signing bytes: {@code "celluler.p2p.v1.Hello"}, a zero byte, then the encoding with {@code signature} cleared.
 */
public final class Hellos {

    public static final int PROTOCOL_VERSION = 1;

    private Hellos() {
    }

    static byte[] signingBytes(Hello h) {
        return SigningBytes.of(Hello.getDescriptor().getFullName(), h.toBuilder().clearSignature().build());
    }

    /** Signs a hello as {@code identity} (the caller has set the timestamp, nonce and the rest). */
    public static Hello seal(Hello.Builder h, CellIdentity identity) {
        h.setProtocolVersion(PROTOCOL_VERSION).setCellId(identity.cellId())
                .setPublicKey(ByteString.copyFrom(identity.publicKey())).clearSignature();
        return h.setSignature(ByteString.copyFrom(identity.sign(signingBytes(h.build())))).build();
    }

    /** True when the hello's key derives to its cell id and its signature verifies. */
    public static boolean verify(Hello h) {
        byte[] key = h.getPublicKey().toByteArray();
        return key.length == Ed25519.KEY_BYTES && CellIdentity.cellIdOf(key).equals(h.getCellId())
                && Ed25519.verify(key, signingBytes(h), h.getSignature().toByteArray());
    }
}
