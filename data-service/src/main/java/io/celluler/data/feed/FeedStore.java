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

    /** A feed's row; {@code secretKey} null on cells that do not own it. */
    public record FeedRow(String key, String name, String type, byte[] secretKey, long length, long byteLength,
            Map<String, String> labels, Instant createdAt) {
    }

    /** The owner's signature over the tree at one length. */
    public record Signed(long length, long byteLength, byte[] rootHash, byte[] signature) {
    }

    private static final String FEED_COLUMNS = "SELECT feed_key, name, feed_type, secret_key, length, byte_length, labels, created_at FROM feed";
    private static final RowMapper<FeedRow> FEED = (rs, i) -> new FeedRow(rs.getString(1), rs.getString(2), rs.getString(3),
            rs.getBytes(4), rs.getLong(5), rs.getLong(6), Labels.decode(rs.getString(7)), rs.getTimestamp(8).toInstant());

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

    public void setLength(String key, long length, long byteLength) {
        jdbc.update("UPDATE feed SET length = ?, byte_length = ? WHERE feed_key = ?", length, byteLength, key);
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

    /** The stored nodes at {@code indexes}, in that order; IllegalStateException when one is missing. */
    public List<Node> nodes(String key, List<Long> indexes) {
        if (indexes.isEmpty()) {
            return List.of();
        }
        Map<Long, Node> found = new HashMap<>();
        for (int from = 0; from < indexes.size(); from += 500) {
            List<Long> part = indexes.subList(from, Math.min(indexes.size(), from + 500));
            String marks = String.join(",", Collections.nCopies(part.size(), "?"));
            Object[] args = new Object[part.size() + 1];
            args[0] = key;
            for (int i = 0; i < part.size(); i++) {
                args[i + 1] = part.get(i);
            }
            jdbc.query("SELECT idx, hash, size_bytes FROM tree_node WHERE feed_key = ? AND idx IN (" + marks + ")",
                    rs -> {
                        found.put(rs.getLong(1), new Node(rs.getLong(1), rs.getBytes(2), rs.getLong(3)));
                    }, args);
        }
        List<Node> out = new ArrayList<>(indexes.size());
        for (long i : indexes) {
            Node n = found.get(i);
            if (n == null) {
                throw new IllegalStateException("feed " + key + " has no tree node " + i);
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
