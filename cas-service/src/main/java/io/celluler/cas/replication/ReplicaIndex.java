package io.celluler.cas.replication;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import io.celluler.cas.object.Manifest;
import io.celluler.cas.store.ContentIndex;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The database side of replication (tables of {@code V5__replication.sql}): which content this cell wants in more
 * than one copy and where its copies are ({@code replication}, {@code replica_placement}), and the copies this cell
 * keeps for other cells ({@code replica_hold}, one manifest reference each).
 */
@Component
public class ReplicaIndex {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final ContentIndex content;

    public ReplicaIndex(JdbcTemplate jdbc, TransactionTemplate tx, ContentIndex content) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.content = content;
    }

    /** Content wanted in {@code factor} copies; {@code updatedAt} tells whether a reference asked again since. */
    public record Wanted(String root, int factor, Instant updatedAt) {
    }

    /** A copy elsewhere, as its cell last described it. */
    public record Copy(String cellId, int chunksMissing, Instant checkedAt) {
    }

    // ---- content this cell wants copied ----------------------------------------------------------------------

    /** Replicated content in root order after {@code afterRoot}, at most {@code limit}. */
    public List<Wanted> wanted(String afterRoot, int limit) {
        return jdbc.query("SELECT root, factor, updated_at FROM replication WHERE root > ? ORDER BY root LIMIT " + limit,
                (rs, i) -> new Wanted(rs.getString(1), rs.getInt(2), rs.getTimestamp(3).toInstant()), afterRoot);
    }

    public Optional<Wanted> wanted(String root) {
        return jdbc.query("SELECT root, factor, updated_at FROM replication WHERE root = ?",
                (rs, i) -> new Wanted(rs.getString(1), rs.getInt(2), rs.getTimestamp(3).toInstant()), root).stream().findFirst();
    }

    /** Forgets that content was wanted copied, unless a reference asked for copies again after {@code w} was read. */
    public boolean forget(Wanted w) {
        return jdbc.update("DELETE FROM replication WHERE root = ? AND updated_at = ?", w.root(), Timestamp.from(w.updatedAt())) == 1;
    }

    public List<Copy> copies(String root) {
        return jdbc.query("SELECT cell_id, chunks_missing, checked_at FROM replica_placement WHERE root = ? ORDER BY cell_id",
                (rs, i) -> new Copy(rs.getString(1), rs.getInt(2), rs.getTimestamp(3).toInstant()), root);
    }

    /** Records what a cell said of its copy. */
    public void recordCopy(String root, String cell, int chunksMissing, Instant at) {
        Timestamp ts = Timestamp.from(ContentIndex.micros(at));
        ContentIndex.retrying(() -> {
            if (jdbc.update("UPDATE replica_placement SET chunks_missing = ?, checked_at = ? WHERE root = ? AND cell_id = ?",
                    chunksMissing, ts, root, cell) == 0) {
                jdbc.update("INSERT INTO replica_placement (root, cell_id, chunks_missing, checked_at) VALUES (?, ?, ?, ?)",
                        root, cell, chunksMissing, ts);
            }
            return null;
        });
    }

    public void forgetCopy(String root, String cell) {
        jdbc.update("DELETE FROM replica_placement WHERE root = ? AND cell_id = ?", root, cell);
    }

    /**
     * Whether this cell still counts on {@code cell}'s copy of {@code root}: the content is wanted in several copies,
     * referenced here, and {@code cell} is one of the cells asked to keep it.
     */
    public boolean wantsCopyFrom(String root, String cell) {
        return wanted(root).isPresent() && ownReferences(root) > 0
                && copies(root).stream().anyMatch(c -> c.cellId().equals(cell));
    }

    // ---- copies this cell keeps for others ---------------------------------------------------------------------

    /** A copy kept here for another cell. */
    public record Hold(String root, String originCell, Instant createdAt) {
    }

    /** Copies kept here made before {@code before}, in (root, origin) order after the given position, at most limit. */
    public List<Hold> holds(String afterRoot, String afterOrigin, Instant before, int limit) {
        return jdbc.query("SELECT root, origin_cell, created_at FROM replica_hold WHERE (root > ? OR (root = ? AND origin_cell > ?))"
                        + " AND created_at < ? ORDER BY root, origin_cell LIMIT " + limit,
                (rs, i) -> new Hold(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant()), afterRoot, afterRoot,
                afterOrigin, Timestamp.from(before));
    }

    public boolean holds(String root, String origin) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM replica_hold WHERE root = ? AND origin_cell = ?", Integer.class,
                root, origin);
        return n != null && n > 0;
    }

    /**
     * Keeps a copy of {@code m} for {@code origin} (idempotent): one reference on the manifest, which is created with
     * references on its chunks when it is new here (the chunks themselves are fetched afterwards).
     */
    public void hold(Manifest m, String origin, Instant now) {
        Instant at = ContentIndex.micros(now);
        ContentIndex.retrying(() -> tx.execute(status -> {
            if (holds(m.root(), origin)) {
                return null;
            }
            content.addManifestReference(m, at);
            jdbc.update("INSERT INTO replica_hold (root, origin_cell, created_at) VALUES (?, ?, ?)", m.root(), origin,
                    Timestamp.from(at));
            return null;
        }));
    }

    /** Stops keeping the copy for {@code origin}; false when there was none. Its chunks go once nothing else uses them. */
    public boolean release(String root, String origin, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(tx.execute(status -> {
            if (jdbc.update("DELETE FROM replica_hold WHERE root = ? AND origin_cell = ?", root, origin) == 0) {
                return false;
            }
            content.releaseManifestReference(root, at);
            return true;
        }));
    }

    /**
     * References on a manifest from this cell's own objects, pins and parts: its reference count less the copies it
     * is kept for other cells (0 when it is not stored).
     */
    public long ownReferences(String root) {
        List<Long> n = jdbc.queryForList("SELECT m.ref_count - (SELECT COUNT(*) FROM replica_hold h WHERE h.root = m.root)"
                + " FROM manifest m WHERE m.root = ?", Long.class, root);
        return n.isEmpty() ? 0 : n.get(0);
    }

    /** Chunk rows referenced here whose hash sorts after {@code afterHash}, at most {@code limit}, in hash order. */
    public List<String> referencedChunks(String afterHash, int limit) {
        return jdbc.queryForList("SELECT hash FROM chunk WHERE hash > ? AND ref_count > 0 ORDER BY hash LIMIT " + limit,
                String.class, afterHash);
    }
}
