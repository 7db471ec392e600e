package io.celluler.data.feed;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.celluler.data.tree.TreeHash.Node;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;

/**
 * The database side of feeds (tables of {@code V1__feeds.sql}), plain JDBC with batched inserts: an append writes
 * its entries, the tree nodes they complete and the signed root in one transaction of the caller.
 */
@Component
public class FeedStore {

    /**
     * A feed's row; {@code secretKey} null on cells that do not own it (replicas), whose length is the newest verified
     * signed root's and whose {@code ownerCellId} is the cell they were first found on (null: not known).
     */
    public record FeedRow(String key, String name, String type, byte[] secretKey, long length, long byteLength,
            Map<String, String> labels, Instant createdAt, String ownerCellId) {

        public boolean owned() {
            return secretKey != null;
        }
    }

    /** The owner's signature over the tree at one length. */
    public record Signed(long length, long byteLength, byte[] rootHash, byte[] signature) {
    }

    private static final String FEED_COLUMNS = "SELECT feed_key, COALESCE(remote_name, name), feed_type, secret_key, length,"
            + " byte_length, labels, created_at, owner_cell_id FROM feed";
    private static final RowMapper<FeedRow> FEED = (rs, i) -> new FeedRow(rs.getString(1), rs.getString(2), rs.getString(3),
            rs.getBytes(4), rs.getLong(5), rs.getLong(6), Labels.decode(rs.getString(7)), rs.getTimestamp(8).toInstant(),
            rs.getString(9));

    private final JdbcTemplate jdbc;

    public FeedStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public void insertFeed(FeedRow f, Signed empty) {
        jdbc.update("INSERT INTO feed (feed_key, name, feed_type, secret_key, length, byte_length, labels, created_at)"
                + " VALUES (?, ?, ?, ?, 0, 0, ?, ?)", f.key(), f.name(), f.type(), f.secretKey(), Labels.encode(f.labels()),
                Timestamp.from(f.createdAt().truncatedTo(ChronoUnit.MICROS)));
        insertSigned(f.key(), empty);
    }

    /**
     * A replica's row (named by its key; the owner's name kept as its remote name), its first verified signed root and
     * what is followed of it.
     */
    public void insertReplica(FeedRow f, Signed first, Follow follow) {
        jdbc.update("INSERT INTO feed (feed_key, name, remote_name, feed_type, length, byte_length, labels, created_at,"
                + " owner_cell_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", f.key(), f.key(), f.name(), f.type(), first.length(),
                first.byteLength(), Labels.encode(f.labels()), Timestamp.from(f.createdAt().truncatedTo(ChronoUnit.MICROS)),
                f.ownerCellId());
        insertSigned(f.key(), first);
        jdbc.update("INSERT INTO feed_follow (feed_key, following, ranges, live, sources, downloaded, rejected, forked)"
                + " VALUES (?, TRUE, ?, ?, ?, 0, 0, FALSE)", f.key(), Follow.encodeRanges(follow.ranges()), follow.live(),
                String.join(",", follow.sources()));
    }

    public Optional<FeedRow> feed(String key) {
        return jdbc.query(FEED_COLUMNS + " WHERE feed_key = ?", FEED, key).stream().findFirst();
    }

    /** The feed's row, locked until the caller's transaction ends (appends to one feed go one at a time). */
    public Optional<FeedRow> lock(String key) {
        return jdbc.query(FEED_COLUMNS + " WHERE feed_key = ? FOR UPDATE", FEED, key).stream().findFirst();
    }

    public boolean nameTaken(String name) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM feed WHERE name = ?", Integer.class, name);
        return n != null && n > 0;
    }

    /** Feeds in key order after {@code afterKey}, at most {@code limit}. */
    public List<FeedRow> feeds(String afterKey, boolean ownedOnly, int limit) {
        return jdbc.query(FEED_COLUMNS + " WHERE feed_key > ?" + (ownedOnly ? " AND secret_key IS NOT NULL" : "")
                + " ORDER BY feed_key LIMIT " + limit, FEED, afterKey);
    }

    /** The tree's length: an owner's after an append, a replica's newest verified signed root. */
    public void setLength(String key, long length, long byteLength) {
        jdbc.update("UPDATE feed SET length = ?, byte_length = ? WHERE feed_key = ?", length, byteLength, key);
    }

    // ---- replicas ---------------------------------------------------------------------------------------------------

    /** What a replica follows and how it went: index ranges ({start, end}, end 0 open; none = all). */
    public record Follow(boolean following, List<long[]> ranges, boolean live, List<String> sources, long downloaded,
            long rejected, Instant lastSyncedAt, boolean forked) {

        static String encodeRanges(List<long[]> ranges) {
            return String.join(";", ranges.stream().map(r -> r[0] + "-" + r[1]).toList());
        }

        static List<long[]> decodeRanges(String s) {
            if (s.isEmpty()) {
                return List.of();
            }
            List<long[]> out = new ArrayList<>();
            for (String part : s.split(";")) {
                int dash = part.indexOf('-');
                out.add(new long[] {Long.parseLong(part.substring(0, dash)), Long.parseLong(part.substring(dash + 1))});
            }
            return out;
        }
    }

    public Optional<Follow> follow(String key) {
        return jdbc.query("SELECT following, ranges, live, sources, downloaded, rejected, last_synced_at, forked FROM feed_follow"
                + " WHERE feed_key = ?", (rs, i) -> new Follow(rs.getBoolean(1), Follow.decodeRanges(rs.getString(2)),
                        rs.getBoolean(3), rs.getString(4).isEmpty() ? List.of() : List.of(rs.getString(4).split(",")),
                        rs.getLong(5), rs.getLong(6), rs.getTimestamp(7) == null ? null : rs.getTimestamp(7).toInstant(),
                        rs.getBoolean(8)), key).stream().findFirst();
    }

    /** A new selection for a replica (following again unless it forked). */
    public void updateFollow(String key, List<long[]> ranges, boolean live, List<String> sources) {
        jdbc.update("UPDATE feed_follow SET following = NOT forked, ranges = ?, live = ?, sources = ? WHERE feed_key = ?",
                Follow.encodeRanges(ranges), live, String.join(",", sources), key);
    }

    /** The replicas followed now. */
    public List<String> followed() {
        return jdbc.queryForList("SELECT feed_key FROM feed_follow WHERE following = TRUE ORDER BY feed_key", String.class);
    }

    public void countRejected(String key) {
        jdbc.update("UPDATE feed_follow SET rejected = rejected + 1 WHERE feed_key = ?", key);
    }

    public void synced(String key, long downloaded, Instant at) {
        jdbc.update("UPDATE feed_follow SET downloaded = downloaded + ?, last_synced_at = ? WHERE feed_key = ?", downloaded,
                Timestamp.from(at.truncatedTo(ChronoUnit.MICROS)), key);
    }

    /** Marks a replica forked with the two signed roots that prove it, and stops following it. */
    public void markForked(String key, Signed ours, Signed theirs) {
        jdbc.update("UPDATE feed_follow SET forked = TRUE, following = FALSE WHERE feed_key = ?", key);
        jdbc.update("DELETE FROM fork_evidence WHERE feed_key = ?", key);
        int seq = 0;
        for (Signed s : List.of(ours, theirs)) {
            jdbc.update("INSERT INTO fork_evidence (feed_key, seq, length, byte_length, root_hash, signature) VALUES (?, ?, ?, ?, ?, ?)",
                    key, seq++, s.length(), s.byteLength(), s.rootHash(), s.signature());
        }
    }

    public List<Signed> forkEvidence(String key) {
        return jdbc.query("SELECT length, byte_length, root_hash, signature FROM fork_evidence WHERE feed_key = ? ORDER BY seq",
                (rs, i) -> new Signed(rs.getLong(1), rs.getLong(2), rs.getBytes(3), rs.getBytes(4)), key);
    }

    /** Verified entries of a replica; those already stored are left as they are. How many were new. */
    public int insertEntriesIfAbsent(String key, long first, List<byte[]> entries) {
        List<Object[]> rows = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            rows.add(new Object[] {key, first + i, entries.get(i)});
        }
        int added = 0;
        for (int n : jdbc.batchUpdate("INSERT INTO feed_entry (feed_key, idx, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)) {
            added += Math.max(0, n);
        }
        return added;
    }

    /** Verified nodes of a replica's tree; those already stored are left as they are (a node never changes). */
    public void insertNodesIfAbsent(String key, List<Node> nodes) {
        List<Object[]> rows = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            rows.add(new Object[] {key, n.index(), n.hash(), n.size()});
        }
        jdbc.batchUpdate("INSERT INTO tree_node (feed_key, idx, hash, size_bytes) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", rows);
    }

    public void insertSignedIfAbsent(String key, Signed s) {
        jdbc.update("INSERT INTO signed_root (feed_key, length, byte_length, root_hash, signature) VALUES (?, ?, ?, ?, ?)"
                + " ON CONFLICT DO NOTHING", key, s.length(), s.byteLength(), s.rootHash(), s.signature());
    }

    /** How many of the entries {@code [from, to)} are stored. */
    public long countStored(String key, long from, long to) {
        Long n = jdbc.queryForObject("SELECT COUNT(*) FROM feed_entry WHERE feed_key = ? AND idx >= ? AND idx < ?", Long.class,
                key, from, to);
        return n == null ? 0 : n;
    }

    /** The stored indexes in {@code [from, to)}, in order, at most {@code limit}. */
    public List<Long> storedIndexes(String key, long from, long to, int limit) {
        return jdbc.queryForList("SELECT idx FROM feed_entry WHERE feed_key = ? AND idx >= ? AND idx < ? ORDER BY idx LIMIT "
                + limit, Long.class, key, from, to);
    }

    /** Index and byte size of the stored entries in {@code [from, to)}, in order, at most {@code limit}. */
    public List<long[]> sizes(String key, long from, long to, int limit) {
        return jdbc.query("SELECT idx, OCTET_LENGTH(data) FROM feed_entry WHERE feed_key = ? AND idx >= ? AND idx < ?"
                + " ORDER BY idx LIMIT " + limit, (rs, i) -> new long[] {rs.getLong(1), rs.getLong(2)}, key, from, to);
    }

    // ---- entries and nodes ----------------------------------------------------------------------------------------

    public void insertEntries(String key, long first, List<byte[]> entries) {
        List<Object[]> rows = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            rows.add(new Object[] {key, first + i, entries.get(i)});
        }
        jdbc.batchUpdate("INSERT INTO feed_entry (feed_key, idx, data) VALUES (?, ?, ?)", rows);
    }

    public Optional<byte[]> entry(String key, long index) {
        return jdbc.query("SELECT data FROM feed_entry WHERE feed_key = ? AND idx = ?", (rs, i) -> rs.getBytes(1), key, index)
                .stream().findFirst();
    }

    /** Entries {@code [from, to)} in order. */
    public List<byte[]> entries(String key, long from, long to) {
        return jdbc.query("SELECT data FROM feed_entry WHERE feed_key = ? AND idx >= ? AND idx < ? ORDER BY idx",
                (rs, i) -> rs.getBytes(1), key, from, to);
    }

    public void insertNodes(String key, List<Node> nodes) {
        List<Object[]> rows = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            rows.add(new Object[] {key, n.index(), n.hash(), n.size()});
        }
        jdbc.batchUpdate("INSERT INTO tree_node (feed_key, idx, hash, size_bytes) VALUES (?, ?, ?, ?)", rows);
    }

    /** A proof needs a node this cell does not hold (a sparse replica). */
    public static final class MissingNodeException extends RuntimeException {
        MissingNodeException(String message) {
            super(message);
        }
    }

    /** The stored nodes at {@code indexes}, in that order; {@link MissingNodeException} when one is missing. */
    public List<Node> nodes(String key, List<Long> indexes) {
        if (indexes.isEmpty()) {
            return List.of();
        }
        Map<Long, Node> found = new HashMap<>();
        for (int from = 0; from < indexes.size(); from += 500) {
            List<Long> part = indexes.subList(from, Math.min(indexes.size(), from + 500));
            // a join with a list of values, not "idx IN (...)": H2 looks an IN list up by feed_key alone (a scan of
            // every node of the feed), a join by the whole primary key
            String values = String.join(", ", Collections.nCopies(part.size(), "(CAST(? AS BIGINT))"));
            Object[] args = new Object[part.size() + 1];
            for (int i = 0; i < part.size(); i++) {
                args[i] = part.get(i);
            }
            args[part.size()] = key;
            jdbc.query("SELECT n.idx, n.hash, n.size_bytes FROM (VALUES " + values + ") v(i) JOIN tree_node n"
                    + " ON n.idx = v.i AND n.feed_key = ?",
                    rs -> {
                        found.put(rs.getLong(1), new Node(rs.getLong(1), rs.getBytes(2), rs.getLong(3)));
                    }, args);
        }
        List<Node> out = new ArrayList<>(indexes.size());
        for (long i : indexes) {
            Node n = found.get(i);
            if (n == null) {
                throw new MissingNodeException("this cell does not hold tree node " + i + " of feed " + key);
            }
            out.add(n);
        }
        return out;
    }

    // ---- signed roots ---------------------------------------------------------------------------------------------

    public void insertSigned(String key, Signed s) {
        jdbc.update("INSERT INTO signed_root (feed_key, length, byte_length, root_hash, signature) VALUES (?, ?, ?, ?, ?)",
                key, s.length(), s.byteLength(), s.rootHash(), s.signature());
    }

    public Optional<Signed> signed(String key, long length) {
        return jdbc.query("SELECT length, byte_length, root_hash, signature FROM signed_root WHERE feed_key = ? AND length = ?",
                (rs, i) -> new Signed(rs.getLong(1), rs.getLong(2), rs.getBytes(3), rs.getBytes(4)), key, length).stream().findFirst();
    }

    // ---- the key-value view -----------------------------------------------------------------------------------------

    /** One change of a key: its value from {@code version} on (none when {@code deleted}). */
    public record Change(byte[] key, long version, boolean deleted, byte[] value) {
    }

    private static final RowMapper<Change> CHANGE = (rs, i) -> new Change(rs.getBytes(1), rs.getLong(2), rs.getBoolean(3),
            rs.getBytes(4));

    public void insertChange(String feed, Change c) {
        jdbc.update("INSERT INTO kv_change (feed_key, key_bytes, version, deleted, val) VALUES (?, ?, ?, ?, ?)", feed, c.key(),
                c.version(), c.deleted(), c.value());
    }

    /** A replica's change, indexed as its verified entry arrives (any order); already indexed: left as it is. */
    public void insertChangeIfAbsent(String feed, Change c) {
        jdbc.update("INSERT INTO kv_change (feed_key, key_bytes, version, deleted, val) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                feed, c.key(), c.version(), c.deleted(), c.value());
    }

    /** The key's newest change at or before {@code version}. */
    public Optional<Change> latest(String feed, byte[] key, long version) {
        return jdbc.query("SELECT key_bytes, version, deleted, val FROM kv_change WHERE feed_key = ? AND key_bytes = ?"
                + " AND version <= ? ORDER BY version DESC LIMIT 1", CHANGE, feed, key, version).stream().findFirst();
    }

    /** The key's changes after {@code afterVersion}, oldest first, at most {@code limit}. */
    public List<Change> history(String feed, byte[] key, long afterVersion, int limit) {
        return jdbc.query("SELECT key_bytes, version, deleted, val FROM kv_change WHERE feed_key = ? AND key_bytes = ?"
                + " AND version > ? ORDER BY version LIMIT " + limit, CHANGE, feed, key, afterVersion);
    }

    /** Keys changed in versions {@code (from, to]}, within {@code [lo, hi)} (hi null: no bound), after {@code afterKey}. */
    public List<byte[]> changedKeys(String feed, long from, long to, byte[] lo, byte[] hi, byte[] afterKey, int limit) {
        List<Object> args = new ArrayList<>(List.of(feed, from, to, lo));
        String bound = "";
        if (hi != null) {
            bound += " AND key_bytes < ?";
            args.add(hi);
        }
        if (afterKey != null) {
            bound += " AND key_bytes > ?";
            args.add(afterKey);
        }
        return jdbc.query("SELECT DISTINCT key_bytes FROM kv_change WHERE feed_key = ? AND version > ? AND version <= ?"
                + " AND key_bytes >= ?" + bound + " ORDER BY key_bytes LIMIT " + limit, (rs, i) -> rs.getBytes(1), args.toArray());
    }

    /**
     * The live keys at {@code version} within {@code [lo, hi)} (hi null: no bound), each with its value then, in key
     * order (descending when {@code reverse}) after {@code afterKey} (null: from the first), at most {@code limit}.
     */
    public List<Change> scan(String feed, long version, byte[] lo, byte[] hi, byte[] afterKey, boolean reverse, int limit) {
        List<Object> args = new ArrayList<>(List.of(feed, version, lo));
        String bound = "";
        if (hi != null) {
            bound += " AND key_bytes < ?";
            args.add(hi);
        }
        if (afterKey != null) {
            bound += reverse ? " AND key_bytes < ?" : " AND key_bytes > ?";
            args.add(afterKey);
        }
        args.add(feed);
        return jdbc.query("SELECT c.key_bytes, c.version, c.deleted, c.val FROM kv_change c JOIN (SELECT key_bytes, MAX(version) AS v"
                + " FROM kv_change WHERE feed_key = ? AND version <= ? AND key_bytes >= ?" + bound + " GROUP BY key_bytes) m"
                + " ON c.key_bytes = m.key_bytes AND c.version = m.v WHERE c.feed_key = ? AND c.deleted = FALSE"
                + " ORDER BY c.key_bytes" + (reverse ? " DESC" : "") + " LIMIT " + limit, CHANGE, args.toArray());
    }
}
