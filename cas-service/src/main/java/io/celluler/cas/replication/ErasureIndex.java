package io.celluler.cas.replication;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import io.celluler.cas.object.Manifest;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.Erasure;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The database side of erasure coding (tables of {@code V8__erasure_coding.sql}): content this cell keeps
 * erasure-coded and which cell keeps each shard index ({@code erasure}, {@code erasure_placement}); shards this cell
 * keeps for others ({@code shard_hold}) and which stored shard answers for which chunk ({@code shard_map}).
 */
@Component
public class ErasureIndex {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final ContentIndex content;

    public ErasureIndex(JdbcTemplate jdbc, TransactionTemplate tx, ContentIndex content) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.content = content;
    }

    /** Content wanted erasure-coded; {@code updatedAt} tells whether a reference asked again since. */
    public record Coded(String root, Erasure erasure, Instant updatedAt) {
    }

    /** A shard index of coded content and the cell asked to keep it, as it last answered. */
    public record ShardCopy(int shardIndex, String cellId, int chunksMissing, Instant checkedAt) {
    }

    private static final RowMapper<Coded> CODED = (rs, i) -> new Coded(rs.getString(1), new Erasure(rs.getInt(2), rs.getInt(3)),
            rs.getTimestamp(4).toInstant());

    // ---- content this cell keeps erasure-coded --------------------------------------------------------------------

    public List<Coded> coded(String afterRoot, int limit) {
        return jdbc.query("SELECT root, data_shards, parity_shards, updated_at FROM erasure WHERE root > ? ORDER BY root LIMIT "
                + limit, CODED, afterRoot);
    }

    public Optional<Coded> coded(String root) {
        return jdbc.query("SELECT root, data_shards, parity_shards, updated_at FROM erasure WHERE root = ?", CODED, root)
                .stream().findFirst();
    }

    /** Forgets that content was coded, unless a reference asked for it again after {@code c} was read. */
    public boolean forget(Coded c) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            if (jdbc.update("DELETE FROM erasure WHERE root = ? AND updated_at = ?", c.root(), Timestamp.from(c.updatedAt())) == 0) {
                return false;
            }
            jdbc.update("DELETE FROM erasure_placement WHERE root = ?", c.root());
            return true;
        }));
    }

    public List<ShardCopy> shards(String root) {
        return jdbc.query("SELECT shard_index, cell_id, chunks_missing, checked_at FROM erasure_placement WHERE root = ?"
                + " ORDER BY shard_index", (rs, i) -> new ShardCopy(rs.getInt(1), rs.getString(2), rs.getInt(3),
                rs.getTimestamp(4).toInstant()), root);
    }

    /** Records which cell keeps shard {@code index} of {@code root} and what it said (replacing an earlier cell). */
    public void recordShard(String root, int index, String cell, int chunksMissing, Instant at) {
        Timestamp ts = Timestamp.from(ContentIndex.micros(at));
        ContentIndex.retrying(() -> {
            if (jdbc.update("UPDATE erasure_placement SET cell_id = ?, chunks_missing = ?, checked_at = ? WHERE root = ?"
                    + " AND shard_index = ?", cell, chunksMissing, ts, root, index) == 0) {
                jdbc.update("INSERT INTO erasure_placement (root, shard_index, cell_id, chunks_missing, checked_at)"
                        + " VALUES (?, ?, ?, ?, ?)", root, index, cell, chunksMissing, ts);
            }
            return null;
        });
    }

    public void forgetShard(String root, int index, String cell) {
        jdbc.update("DELETE FROM erasure_placement WHERE root = ? AND shard_index = ? AND cell_id = ?", root, index, cell);
    }

    /** Whether this cell still counts on {@code cell} keeping shard {@code index} of {@code root}. */
    public boolean wantsShardFrom(String root, int index, String cell, ReplicaIndex replicas) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM erasure_placement WHERE root = ? AND shard_index = ? AND cell_id = ?",
                Integer.class, root, index, cell);
        return n != null && n > 0 && replicas.ownReferences(root) > 0;
    }

    // ---- shards this cell keeps for others ----------------------------------------------------------------------

    /** A shard index of another cell's content kept here; {@code shardRoot} null until every shard is here. */
    public record Hold(String root, String originCell, int shardIndex, Erasure erasure, long sizeBytes, int chunkCount,
            String shardRoot, Instant createdAt) {
    }

    private static final String HOLD_COLUMNS = "SELECT root, origin_cell, shard_index, data_shards, parity_shards, size_bytes,"
            + " chunk_count, shard_root, created_at FROM shard_hold";
    private static final RowMapper<Hold> HOLD = (rs, i) -> new Hold(rs.getString(1), rs.getString(2), rs.getInt(3),
            new Erasure(rs.getInt(4), rs.getInt(5)), rs.getLong(6), rs.getInt(7), rs.getString(8), rs.getTimestamp(9).toInstant());

    public Optional<Hold> hold(String root, String origin, int index) {
        return jdbc.query(HOLD_COLUMNS + " WHERE root = ? AND origin_cell = ? AND shard_index = ?", HOLD, root, origin, index)
                .stream().findFirst();
    }

    /** Starts keeping a shard (idempotent); true when it is new. Its shards are fetched afterwards. */
    public boolean startHold(String root, String origin, int index, Erasure e, long sizeBytes, int chunkCount, Instant now) {
        return ContentIndex.retrying(() -> {
            if (hold(root, origin, index).isPresent()) {
                return false;
            }
            jdbc.update("INSERT INTO shard_hold (root, origin_cell, shard_index, data_shards, parity_shards, size_bytes,"
                    + " chunk_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", root, origin, index, e.dataShards(),
                    e.parityShards(), sizeBytes, chunkCount, Timestamp.from(ContentIndex.micros(now)));
            return true;
        });
    }

    /**
     * Every shard of a hold is here: its shard manifest is stored (one reference) and named by the hold, in one
     * transaction. False when the hold was released meanwhile (nothing is written then).
     */
    public boolean completeHold(Hold h, Manifest shards, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(ContentIndex.retrying(() -> tx.execute(status -> {
            content.addManifestReference(shards, at); // first: the hold's shard_root references it
            if (jdbc.update("UPDATE shard_hold SET shard_root = ? WHERE root = ? AND origin_cell = ? AND shard_index = ?"
                    + " AND shard_root IS NULL", shards.root(), h.root(), h.originCell(), h.shardIndex()) == 0) {
                status.setRollbackOnly(); // released (or completed) meanwhile: no reference without its hold
                return false;
            }
            return true;
        })));
    }

    /** Stops keeping a shard; false when there was none. Its stored shards go once nothing else uses them. */
    public boolean release(String root, String origin, int index, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(tx.execute(status -> {
            // locked: a completion or another release of the same hold waits, and then sees what this one did
            Optional<Hold> h = jdbc.query(HOLD_COLUMNS + " WHERE root = ? AND origin_cell = ? AND shard_index = ? FOR UPDATE",
                    HOLD, root, origin, index).stream().findFirst();
            if (h.isEmpty() || jdbc.update("DELETE FROM shard_hold WHERE root = ? AND origin_cell = ? AND shard_index = ?",
                    root, origin, index) != 1) {
                return false;
            }
            if (h.get().shardRoot() != null) {
                content.releaseManifestReference(h.get().shardRoot(), at);
            }
            return true;
        }));
    }

    /** Holds whose shards are not all here yet, at most {@code limit}. */
    public List<Hold> incompleteHolds(int limit) {
        return jdbc.query(HOLD_COLUMNS + " WHERE shard_root IS NULL ORDER BY created_at LIMIT " + limit, HOLD);
    }

    /** Holds whose shards are not all here yet, for one of {@code origins} (cells alive now), at most {@code limit}. */
    public List<Hold> incompleteHolds(Collection<String> origins, int limit) {
        if (origins.isEmpty()) {
            return List.of();
        }
        String marks = String.join(",", java.util.Collections.nCopies(origins.size(), "?"));
        return jdbc.query(HOLD_COLUMNS + " WHERE shard_root IS NULL AND origin_cell IN (" + marks + ") ORDER BY created_at LIMIT "
                + limit, HOLD, origins.toArray());
    }

    /** Holds made before {@code before}, in (root, origin, index) order after the given one, at most {@code limit}. */
    public List<Hold> holds(String afterRoot, String afterOrigin, int afterIndex, Instant before, int limit) {
        return jdbc.query(HOLD_COLUMNS + " WHERE (root > ? OR (root = ? AND (origin_cell > ? OR (origin_cell = ? AND shard_index > ?))))"
                + " AND created_at < ? ORDER BY root, origin_cell, shard_index LIMIT " + limit, HOLD, afterRoot, afterRoot,
                afterOrigin, afterOrigin, afterIndex, Timestamp.from(before));
    }

    /** Cells that shard index {@code index} of a {@code e}-coded content is kept here for. */
    public List<String> originsKeeping(Erasure e, int index) {
        return jdbc.queryForList("SELECT DISTINCT origin_cell FROM shard_hold WHERE data_shards = ? AND parity_shards = ?"
                + " AND shard_index = ?", String.class, e.dataShards(), e.parityShards(), index);
    }

    // ---- which stored shard answers for which chunk ---------------------------------------------------------------

    /** A stored shard: shard {@code index} of chunk {@code chunkHash} under {@code erasure}. */
    public record MappedShard(String chunkHash, Erasure erasure, int index, String shardHash) {
    }

    public Optional<String> shardOf(String chunkHash, Erasure e, int index) {
        return jdbc.queryForList("SELECT shard_hash FROM shard_map WHERE chunk_hash = ? AND data_shards = ? AND parity_shards = ?"
                + " AND shard_index = ?", String.class, chunkHash, e.dataShards(), e.parityShards(), index).stream().findFirst();
    }

    public void mapShard(String chunkHash, Erasure e, int index, String shardHash) {
        ContentIndex.retrying(() -> {
            if (jdbc.update("UPDATE shard_map SET shard_hash = ? WHERE chunk_hash = ? AND data_shards = ? AND parity_shards = ?"
                    + " AND shard_index = ?", shardHash, chunkHash, e.dataShards(), e.parityShards(), index) == 0) {
                jdbc.update("INSERT INTO shard_map (chunk_hash, data_shards, parity_shards, shard_index, shard_hash)"
                        + " VALUES (?, ?, ?, ?, ?)", chunkHash, e.dataShards(), e.parityShards(), index, shardHash);
            }
            return null;
        });
    }

    /** The mappings of those of {@code hashes} that are stored shards. */
    public List<MappedShard> shardsAmong(Collection<String> hashes) {
        List<MappedShard> out = new ArrayList<>();
        List<String> all = new ArrayList<>(hashes);
        for (int from = 0; from < all.size(); from += 500) {
            List<String> part = all.subList(from, Math.min(all.size(), from + 500));
            String marks = String.join(",", java.util.Collections.nCopies(part.size(), "?"));
            out.addAll(jdbc.query("SELECT chunk_hash, data_shards, parity_shards, shard_index, shard_hash FROM shard_map"
                    + " WHERE shard_hash IN (" + marks + ")", (rs, i) -> new MappedShard(rs.getString(1),
                    new Erasure(rs.getInt(2), rs.getInt(3)), rs.getInt(4), rs.getString(5)), part.toArray()));
        }
        return out;
    }
}
