package io.celluler.cas.store;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.celluler.cas.object.Manifest;
import io.celluler.cas.object.Manifest.ChunkRef;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The database side of content: manifests, chunks and pins, with their reference counts (tables of
 * {@code V2__chunks_and_manifests.sql}). Reference counts change in the same transaction as what references:
 * a manifest counts the pins, object versions and parts that use it; a chunk counts the manifests that list it.
 * When a count reaches zero, {@code unreferenced_since} starts the grace period of the garbage collector.
 *
 * <p>Plain JDBC in batches: an object of 1 GiB lists ~16,000 chunks, whose counts change in one transaction.
 * Rows are touched in hash order, so concurrent transactions lock them in one order (no deadlocks on PostgreSQL).
 */
@Component
public class ContentIndex {

    private static final int MAX_ATTEMPTS = 5;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public ContentIndex(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** A manifest as stored, with its reference count. */
    public record StoredManifest(Manifest manifest, long refCount, Instant createdAt) {
    }

    /** A pin: content kept by its root. */
    public record Pin(String root, String mediaType, Instant createdAt, long sizeBytes, String contentSha256, int chunkCount) {
    }

    /** The outcome of {@link #pin}: whether the content was new to this cell, and whether it was already pinned. */
    public record PinResult(Pin pin, boolean newManifest, boolean alreadyPinned) {
    }

    // ---- manifests ------------------------------------------------------------------------------------------

    public Optional<StoredManifest> manifest(String root) {
        return jdbc.query("SELECT root, content_sha256, size_bytes, chunk_list, ref_count, created_at FROM manifest WHERE root = ?",
                (rs, i) -> new StoredManifest(new Manifest(rs.getString(1), rs.getString(2), rs.getLong(3),
                        Manifest.unpack(rs.getBytes(4))), rs.getLong(5), rs.getTimestamp(6).toInstant()), root)
                .stream().findFirst();
    }

    /**
     * Pins content by its root (idempotent): one reference on the manifest, which is created with references on its
     * chunks when it is new. Durable when it returns. The chunks must be stored already.
     */
    public PinResult pin(Manifest m, String mediaType, int replicationFactor, Erasure erasure, Instant now) {
        Instant at = micros(now);
        return retrying(() -> tx.execute(status -> {
            List<Pin> existing = pins("WHERE p.root = ?", m.root());
            if (!existing.isEmpty()) {
                requireCopies(m.root(), replicationFactor, at);
                requireErasure(m.root(), erasure, at);
                return new PinResult(existing.get(0), false, true);
            }
            boolean fresh = addManifestReference(m, at);
            requireCopies(m.root(), replicationFactor, at);
            requireErasure(m.root(), erasure, at);
            jdbc.update("INSERT INTO pin (root, media_type, created_at) VALUES (?, ?, ?)", m.root(),
                    mediaType == null || mediaType.isEmpty() ? null : mediaType, Timestamp.from(at));
            return new PinResult(new Pin(m.root(), mediaType == null ? "" : mediaType, at, m.sizeBytes(), m.contentSha256(),
                    m.chunks().size()), fresh, false);
        }));
    }

    /** Removes a pin; false when there was none. The content goes once nothing else references it (GC). */
    public boolean unpin(String root, Instant now) {
        Instant at = micros(now);
        return Boolean.TRUE.equals(tx.execute(status -> {
            if (jdbc.update("DELETE FROM pin WHERE root = ?", root) == 0) {
                return false;
            }
            releaseManifestReference(root, at);
            return true;
        }));
    }

    public Optional<Pin> pinOf(String root) {
        return pins("WHERE p.root = ?", root).stream().findFirst();
    }

    /** Pins in root order, after {@code afterRoot} (empty: from the start). */
    public List<Pin> pins(String afterRoot, int limit) {
        return pins("WHERE p.root > ? ORDER BY p.root LIMIT " + limit, afterRoot == null ? "" : afterRoot);
    }

    private List<Pin> pins(String where, Object arg) {
        return jdbc.query("SELECT p.root, p.media_type, p.created_at, m.size_bytes, m.content_sha256, m.chunk_count"
                        + " FROM pin p JOIN manifest m ON m.root = p.root " + where,
                (rs, i) -> new Pin(rs.getString(1), rs.getString(2) == null ? "" : rs.getString(2),
                        rs.getTimestamp(3).toInstant(), rs.getLong(4), rs.getString(5), rs.getInt(6)), arg);
    }

    /**
     * One more reference on a manifest (inside the caller's transaction); a new manifest is inserted and its chunks
     * referenced. Returns true when the manifest was new.
     */
    public boolean addManifestReference(Manifest m, Instant at) {
        if (jdbc.update("UPDATE manifest SET ref_count = ref_count + 1, unreferenced_since = NULL WHERE root = ?", m.root()) == 1) {
            return false;
        }
        jdbc.update("INSERT INTO manifest (root, content_sha256, size_bytes, chunk_count, chunk_list, ref_count, created_at)"
                        + " VALUES (?, ?, ?, ?, ?, 1, ?)", m.root(), m.contentSha256(), m.sizeBytes(), m.chunks().size(),
                m.packedChunks(), Timestamp.from(at));
        addChunkReferences(m.chunks(), at);
        return true;
    }

    /**
     * Inside the caller's transaction: content {@code root} (whose manifest is stored) is to be kept in at least
     * {@code factor} copies on distinct cells. Nothing to record for one copy.
     */
    void requireCopies(String root, int factor, Instant at) {
        if (factor < 2) {
            return;
        }
        // the time moves on even when the factor stays: the replicator forgets content only if nobody asked since
        if (jdbc.update("UPDATE replication SET factor = GREATEST(factor, ?), updated_at = ? WHERE root = ?", factor,
                Timestamp.from(at), root) == 0) {
            jdbc.update("INSERT INTO replication (root, factor, updated_at) VALUES (?, ?, ?)", root, factor, Timestamp.from(at));
        }
    }

    /**
     * Inside the caller's transaction: content {@code root} (whose manifest is stored) is to be kept erasure-coded on
     * other cells. The first scheme asked for stays while the content lives (its shards are placed by it); a later
     * reference only refreshes the time. Nothing to record for {@link Erasure#NONE}.
     */
    void requireErasure(String root, Erasure erasure, Instant at) {
        if (erasure.none()) {
            return;
        }
        if (jdbc.update("UPDATE erasure SET updated_at = ? WHERE root = ?", Timestamp.from(at), root) == 0) {
            jdbc.update("INSERT INTO erasure (root, data_shards, parity_shards, updated_at) VALUES (?, ?, ?, ?)", root,
                    erasure.dataShards(), erasure.parityShards(), Timestamp.from(at));
        }
    }

    /** One reference fewer on a manifest (inside the caller's transaction); at zero its grace period starts. */
    public void releaseManifestReference(String root, Instant at) {
        jdbc.update("UPDATE manifest SET unreferenced_since = CASE WHEN ref_count = 1 THEN ? ELSE unreferenced_since END,"
                + " ref_count = ref_count - 1 WHERE root = ? AND ref_count > 0", Timestamp.from(at), root);
    }

    private void addChunkReferences(List<ChunkRef> chunks, Instant at) {
        Map<String, int[]> counts = multiplicities(chunks);
        List<Object[]> updates = new ArrayList<>(counts.size());
        counts.forEach((hash, c) -> updates.add(new Object[] {c[0], hash}));
        int[] updated = jdbc.batchUpdate("UPDATE chunk SET ref_count = ref_count + ?, unreferenced_since = NULL WHERE hash = ?",
                updates);
        List<Object[]> inserts = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            if (updated[i++] == 0) {
                inserts.add(new Object[] {e.getKey(), e.getValue()[1], e.getValue()[0], Timestamp.from(at)});
            }
        }
        if (!inserts.isEmpty()) {
            jdbc.batchUpdate("INSERT INTO chunk (hash, size_bytes, ref_count, created_at) VALUES (?, ?, ?, ?)", inserts);
        }
    }

    private void releaseChunkReferences(List<ChunkRef> chunks, Instant at) {
        Map<String, int[]> counts = multiplicities(chunks);
        List<Object[]> updates = new ArrayList<>(counts.size());
        Timestamp ts = Timestamp.from(at);
        counts.forEach((hash, c) -> updates.add(new Object[] {c[0], ts, c[0], hash, c[0]}));
        jdbc.batchUpdate("UPDATE chunk SET unreferenced_since = CASE WHEN ref_count = ? THEN ? ELSE unreferenced_since END,"
                + " ref_count = ref_count - ? WHERE hash = ? AND ref_count >= ?", updates);
    }

    /** Per distinct chunk (in hash order): {references, size}. */
    private static Map<String, int[]> multiplicities(List<ChunkRef> chunks) {
        Map<String, int[]> counts = new TreeMap<>();
        for (ChunkRef c : chunks) {
            counts.computeIfAbsent(c.sha256(), k -> new int[] {0, c.sizeBytes()})[0]++;
        }
        return counts;
    }

    // ---- chunks ---------------------------------------------------------------------------------------------

    /** The size the manifests here give a chunk (empty when no manifest here lists it). */
    public Optional<Integer> chunkSize(String hash) {
        return jdbc.queryForList("SELECT size_bytes FROM chunk WHERE hash = ?", Integer.class, hash).stream().findFirst();
    }

    /** Which of {@code hashes} have a row. */
    public List<String> knownChunks(Collection<String> hashes) {
        if (hashes.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        List<String> all = new ArrayList<>(hashes);
        for (int from = 0; from < all.size(); from += 500) {
            List<String> part = all.subList(from, Math.min(all.size(), from + 500));
            String marks = String.join(",", java.util.Collections.nCopies(part.size(), "?"));
            out.addAll(jdbc.queryForList("SELECT hash FROM chunk WHERE hash IN (" + marks + ")", String.class, part.toArray()));
        }
        return out;
    }

    // ---- garbage collection -----------------------------------------------------------------------------------

    /** Manifests without references since before {@code cutoff}, at most {@code limit}. */
    public List<String> collectableManifests(Instant cutoff, int limit) {
        return jdbc.queryForList("SELECT root FROM manifest WHERE ref_count = 0 AND unreferenced_since < ? ORDER BY unreferenced_since LIMIT "
                + limit, String.class, Timestamp.from(cutoff));
    }

    /**
     * Removes an unreferenced manifest (if it still is, and its grace period passed) and releases its chunks, in one
     * transaction. Returns false when it was referenced again meanwhile.
     */
    public boolean removeManifest(String root, Instant cutoff, Instant now) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            Optional<StoredManifest> m = manifest(root);
            if (m.isEmpty()) {
                return false;
            }
            if (jdbc.update("DELETE FROM manifest WHERE root = ? AND ref_count = 0 AND unreferenced_since < ?", root,
                    Timestamp.from(cutoff)) == 0) {
                return false;
            }
            releaseChunkReferences(m.get().manifest().chunks(), micros(now));
            return true;
        }));
    }

    /** Chunks without references since before {@code cutoff}, at most {@code limit}. */
    public List<String> collectableChunks(Instant cutoff, int limit) {
        return jdbc.queryForList("SELECT hash FROM chunk WHERE ref_count = 0 AND unreferenced_since < ? ORDER BY unreferenced_since LIMIT "
                + limit, String.class, Timestamp.from(cutoff));
    }

    /** Deletes a chunk's row if it is still unreferenced since before {@code cutoff}. */
    public boolean removeChunk(String hash, Instant cutoff) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            if (jdbc.update("DELETE FROM chunk WHERE hash = ? AND ref_count = 0 AND unreferenced_since < ?", hash,
                    Timestamp.from(cutoff)) == 0) {
                return false;
            }
            forgetShardMappings(hash);
            return true;
        }));
    }

    /** A stored file {@code hash} is gone: it no longer answers as a shard kept for another cell ({@code shard_map}). */
    public void forgetShardMappings(String hash) {
        jdbc.update("DELETE FROM shard_map WHERE shard_hash = ?", hash);
    }

    /**
     * Runs a transaction again when it lost an insert race (another upload inserted the same new manifest, chunk,
     * object or part row first: the next attempt finds that row), at most a few times.
     */
    public static <T> T retrying(java.util.function.Supplier<T> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return work.get();
            } catch (DuplicateKeyException concurrentInsertOfTheSameRow) {
                if (attempt == MAX_ATTEMPTS) {
                    throw concurrentInsertOfTheSameRow;
                }
            }
        }
    }

    /** The databases keep microseconds: answer now what a later read will answer. */
    public static Instant micros(Instant t) {
        return t.truncatedTo(ChronoUnit.MICROS);
    }
}
