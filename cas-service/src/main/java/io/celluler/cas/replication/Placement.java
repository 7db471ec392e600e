package io.celluler.cas.replication;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

import io.celluler.core.hash.Sha256;

/**
 * Where copies of content go: rendezvous (highest-random-weight) hashing. Every cell ranks the candidate cells for
 * a root by {@code SHA-256(root ‖ cell id)}, and copies go to the highest ranked. The ranking needs no coordination
 * and moves little when cells come and go: a new cell takes over only the roots it ranks first for, a departed
 * cell's roots go to each one's next cell (Thaler and Ravishankar 1998; what Ceph's straw2 and Tahoe-LAFS's
 * server selection do).
 */
public final class Placement {

    private Placement() {
    }

    /** {@code cells} from the most to the least preferred for {@code root} (ties, impossible in practice, by id). */
    public static List<String> rank(String root, Collection<String> cells) {
        return cells.stream().distinct()
                .sorted(Comparator.comparingLong((String c) -> weight(root, c)).reversed().thenComparing(c -> c))
                .toList();
    }

    static long weight(String root, String cell) {
        MessageDigest sha = Sha256.newDigest();
        sha.update(root.getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) 0);
        sha.update(cell.getBytes(StandardCharsets.US_ASCII));
        return ByteBuffer.wrap(sha.digest()).getLong() >>> 1; // non-negative: the order is the unsigned order
    }
}
