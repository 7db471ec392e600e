package io.celluler.cas.object;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import io.celluler.core.hash.Merkle;

/**
 * An object's content: its chunks in order, named by the Merkle root of their hashes.
 *
 * @param root          Merkle root (RFC 6962 hashing, {@link Merkle}) of the chunk hashes in order
 * @param contentSha256 SHA-256 of the whole content (what a client that holds the bytes can check)
 * @param sizeBytes     the content's length
 * @param chunks        the chunks in order
 */
public record Manifest(String root, String contentSha256, long sizeBytes, List<ChunkRef> chunks) {

    /** One chunk of a manifest: its hash (hex) and length. */
    public record ChunkRef(String sha256, int sizeBytes) {
    }

    private static final HexFormat HEX = HexFormat.of();
    /** Bytes per chunk in the packed form: the 32-byte hash and a 4-byte length. */
    public static final int PACKED_ENTRY_BYTES = 36;

    public Manifest {
        chunks = List.copyOf(chunks);
    }

    /** A manifest over {@code chunks}, its root computed. */
    public static Manifest of(String contentSha256, List<ChunkRef> chunks) {
        long size = 0;
        List<String> hashes = new ArrayList<>(chunks.size());
        for (ChunkRef c : chunks) {
            size += c.sizeBytes();
            hashes.add(c.sha256());
        }
        return new Manifest(Merkle.rootOfIds(hashes), contentSha256, size, chunks);
    }

    /** The chunk list as stored: per chunk its hash and its length (big-endian int). */
    public byte[] packedChunks() {
        return pack(chunks);
    }

    /** {@code chunks} in the packed form of {@link #packedChunks}. */
    public static byte[] pack(List<ChunkRef> chunks) {
        ByteBuffer b = ByteBuffer.allocate(chunks.size() * PACKED_ENTRY_BYTES);
        for (ChunkRef c : chunks) {
            b.put(HEX.parseHex(c.sha256())).putInt(c.sizeBytes());
        }
        return b.array();
    }

    public static List<ChunkRef> unpack(byte[] packed) {
        if (packed.length % PACKED_ENTRY_BYTES != 0) {
            throw new IllegalArgumentException("a packed chunk list is a multiple of " + PACKED_ENTRY_BYTES + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(packed);
        List<ChunkRef> out = new ArrayList<>(packed.length / PACKED_ENTRY_BYTES);
        byte[] hash = new byte[32];
        while (b.hasRemaining()) {
            b.get(hash);
            out.add(new ChunkRef(HEX.formatHex(hash), b.getInt()));
        }
        return out;
    }

    /** True when the root is the Merkle root of the chunk list and the size their sum (a manifest from a peer). */
    public boolean consistent() {
        return of(contentSha256, chunks).equals(this);
    }
}
