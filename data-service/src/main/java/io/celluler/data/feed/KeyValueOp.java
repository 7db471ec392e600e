package io.celluler.data.feed;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One operation of a key-value feed as its entry holds it: {@code op (1 put, 2 delete) ‖ key length (2 bytes,
 * big-endian) ‖ key (UTF-8) ‖ value} (no value for a delete). The entries are the view's truth: a replica rebuilds
 * the view from them alone.
 */
public record KeyValueOp(boolean delete, byte[] key, byte[] value) {

    public static final byte PUT = 1;
    public static final byte DELETE = 2;

    public byte[] encode() {
        return ByteBuffer.allocate(3 + key.length + value.length).put(delete ? DELETE : PUT).putShort((short) key.length)
                .put(key).put(value).array();
    }

    public static KeyValueOp decode(byte[] entry) {
        if (entry.length < 3 || (entry[0] != PUT && entry[0] != DELETE)) {
            throw new IllegalArgumentException("not a key-value operation");
        }
        int n = ((entry[1] & 0xFF) << 8) | (entry[2] & 0xFF);
        if (3 + n > entry.length) {
            throw new IllegalArgumentException("a key-value operation's key runs past its entry");
        }
        return new KeyValueOp(entry[0] == DELETE, Arrays.copyOfRange(entry, 3, 3 + n), Arrays.copyOfRange(entry, 3 + n, entry.length));
    }

    public String keyText() {
        return new String(key, StandardCharsets.UTF_8);
    }
}
