package io.celluler.consensus.engine;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The byte layout of everything consensus hashes or signs, written so that a verifier in any language can
 * rebuild it: a domain (the message's full name and a zero byte), then fields in a fixed order — integers as
 * 8 (or 4) bytes big-endian, strings as a 2-byte big-endian length and their UTF-8 bytes. Unlike a protobuf
 * encoding, nothing about it is left to an encoder's choices.
 */
public final class Canonical {

    private byte[] buf = new byte[128];
    private int size;

    private Canonical() {
    }

    /** Starts the bytes of {@code domain} (e.g. {@code celluler.consensus.v1.Vote}). */
    public static Canonical of(String domain) {
        Canonical c = new Canonical();
        c.raw(domain.getBytes(StandardCharsets.US_ASCII));
        c.raw(new byte[] {0});
        return c;
    }

    public Canonical u64(long v) {
        ensure(8);
        for (int i = 7; i >= 0; i--) {
            buf[size++] = (byte) (v >>> (8 * i));
        }
        return this;
    }

    public Canonical u32(int v) {
        ensure(4);
        for (int i = 3; i >= 0; i--) {
            buf[size++] = (byte) (v >>> (8 * i));
        }
        return this;
    }

    public Canonical str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("string field longer than 65535 bytes");
        }
        ensure(2);
        buf[size++] = (byte) (b.length >>> 8);
        buf[size++] = (byte) b.length;
        return raw(b);
    }

    private Canonical raw(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
        return this;
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }

    public byte[] bytes() {
        return Arrays.copyOf(buf, size);
    }
}
