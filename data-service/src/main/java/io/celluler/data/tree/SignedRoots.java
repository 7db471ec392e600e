package io.celluler.data.tree;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import io.celluler.core.identity.Ed25519;

/**
 * What a feed's owner signs after each append (celluler.data.v1.SignedRoot): the bytes
 * {@code "celluler.data.v1.SignedRoot" ‖ 0x00 ‖ feed key (32) ‖ length (8, big-endian) ‖ byte length (8) ‖ root
 * hash (32)}, signed with the feed's own Ed25519 key. The context string keeps the signature from meaning anything
 * else anywhere else.
 */
public final class SignedRoots {

    private static final byte[] CONTEXT = "celluler.data.v1.SignedRoot".getBytes(StandardCharsets.US_ASCII);

    private SignedRoots() {
    }

    public static byte[] signingBytes(byte[] feedKey, long length, long byteLength, byte[] rootHash) {
        return ByteBuffer.allocate(CONTEXT.length + 1 + 32 + 8 + 8 + 32).put(CONTEXT).put((byte) 0).put(feedKey)
                .putLong(length).putLong(byteLength).put(rootHash).array();
    }

    public static byte[] sign(Ed25519.SigningKey key, byte[] feedKey, long length, long byteLength, byte[] rootHash) {
        return Ed25519.sign(key, signingBytes(feedKey, length, byteLength, rootHash));
    }

    public static boolean verify(byte[] feedKey, long length, long byteLength, byte[] rootHash, byte[] signature) {
        return Ed25519.verify(feedKey, signingBytes(feedKey, length, byteLength, rootHash), signature);
    }
}
