package io.celluler.state.store;

import java.nio.ByteBuffer;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The database side of the state machine (tables of {@code V1__state.sql}), plain JDBC with batched statements. One
 * {@link #commit} writes everything a group of heights did — nodes, values, the heights' roots, each key's change,
 * namespace sizes, transaction outcomes — in one transaction: a height is applied exactly when its row is there, and
 * a restart resumes after the last one.
 */
public class StateStore {

    /** One applied height as stored. */
    public record HeightRow(long height, byte[] root, String blockHash, int txCount, int failedTxCount,
            Instant appliedAt) {
    }

    /** A height to commit: its row and what the state machine did at it. */
    public record AppliedHeight(HeightRow row, StateMachine.Applied applied) {
    }

    /** One change of a key ({@code valueHash} null: deleted). */
    public record ChangeRow(long height, byte[] valueHash, String txId) {
    }

    public record NamespaceRow(String namespace, long keyCount, long lastChangedHeight) {
    }

    public record TxRow(String txId, long height, boolean applied, String failure) {
    }

    /** A snapshot this cell holds. */
    public record SnapshotRow(long height, byte[] root, String blockHash, String contentSha256, long sizeBytes,
            long keyCount, Instant createdAt) {
    }

    /** A live key at a height and its value hash. */
    public record LiveKey(String namespace, String key, byte[] valueHash) {
    }

    private static final String HEIGHTS = "SELECT height, root, block_hash, tx_count, failed_tx_count, applied_at"
            + " FROM state_height";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public StateStore(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** The last applied height, null when none is. */
    public HeightRow latest() {
        return jdbc.query(HEIGHTS + " ORDER BY height DESC LIMIT 1", StateStore::height).stream().findFirst().orElse(null);
    }

    public HeightRow height(long height) {
        return jdbc.query(HEIGHTS + " WHERE height = ?", StateStore::height, height).stream().findFirst().orElse(null);
    }

    /** Applied heights after {@code after}, in order, at most {@code limit}. */
    public List<HeightRow> heightsAfter(long after, int limit) {
        return jdbc.query(HEIGHTS + " WHERE height > ? ORDER BY height LIMIT ?", StateStore::height, after, limit);
    }

    private static HeightRow height(java.sql.ResultSet rs, int i) throws java.sql.SQLException {
        return new HeightRow(rs.getLong(1), rs.getBytes(2), rs.getString(3), rs.getInt(4), rs.getInt(5),
                rs.getTimestamp(6).toInstant());
    }

    /** The last change of a key at or before {@code height}, null when it never changed by then. */
    public ChangeRow lastChange(String namespace, String key, long height) {
        return jdbc.query("SELECT height, value_hash, tx_id FROM state_change WHERE namespace = ? AND skey = ?"
                + " AND height <= ? ORDER BY height DESC LIMIT 1", StateStore::change, namespace, key, height)
                .stream().findFirst().orElse(null);
    }

    /** A key's changes with {@code from <= height <= to}, oldest first, at most {@code limit}. */
    public List<ChangeRow> changes(String namespace, String key, long from, long to, int limit) {
        return jdbc.query("SELECT height, value_hash, tx_id FROM state_change WHERE namespace = ? AND skey = ?"
                + " AND height >= ? AND height <= ? ORDER BY height LIMIT ?", StateStore::change, namespace, key, from,
                to, limit);
    }

    private static ChangeRow change(java.sql.ResultSet rs, int i) throws java.sql.SQLException {
        return new ChangeRow(rs.getLong(1), rs.getBytes(2), rs.getString(3));
    }

    public List<NamespaceRow> namespaces() {
        return jdbc.query("SELECT namespace, key_count, last_changed_height FROM state_namespace ORDER BY namespace",
                (rs, i) -> new NamespaceRow(rs.getString(1), rs.getLong(2), rs.getLong(3)));
    }

    public boolean namespaceExists(String namespace) {
        return !jdbc.queryForList("SELECT 1 FROM state_namespace WHERE namespace = ?", Integer.class, namespace)
                .isEmpty();
    }

    public TxRow tx(String txId) {
        return jdbc.query("SELECT tx_id, height, applied, failure FROM state_tx WHERE tx_id = ?",
                (rs, i) -> new TxRow(rs.getString(1), rs.getLong(2), rs.getBoolean(3), rs.getString(4)), txId)
                .stream().findFirst().orElse(null);
    }

    // ---- snapshots ----------------------------------------------------------------------------------------------

    /**
     * Every key that has a value at {@code height}, in (namespace, key) order, with its value hash: each key's last
     * change at or before the height, when that change left a value.
     */
    public void liveKeys(long height, java.util.function.Consumer<LiveKey> each) {
        jdbc.query("SELECT c.namespace, c.skey, c.value_hash FROM state_change c WHERE c.height = (SELECT MAX(d.height)"
                + " FROM state_change d WHERE d.namespace = c.namespace AND d.skey = c.skey AND d.height <= ?)"
                + " AND c.value_hash IS NOT NULL ORDER BY c.namespace, c.skey", rs -> {
                    each.accept(new LiveKey(rs.getString(1), rs.getString(2), rs.getBytes(3)));
                }, height);
    }

    public void addSnapshot(SnapshotRow s) {
        jdbc.update("INSERT INTO state_snapshot (height, root, block_hash, content_sha256, size_bytes, key_count,"
                + " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", s.height(), s.root(), s.blockHash(), s.contentSha256(),
                s.sizeBytes(), s.keyCount(), Timestamp.from(s.createdAt()));
    }

    public void removeSnapshot(long height) {
        jdbc.update("DELETE FROM state_snapshot WHERE height = ?", height);
    }

    /** Snapshots below {@code before} (0: all), newest first, at most {@code limit}. */
    public List<SnapshotRow> snapshots(long before, int limit) {
        return jdbc.query("SELECT height, root, block_hash, content_sha256, size_bytes, key_count, created_at"
                + " FROM state_snapshot WHERE height < ? ORDER BY height DESC LIMIT ?", (rs, i) -> new SnapshotRow(
                        rs.getLong(1), rs.getBytes(2), rs.getString(3), rs.getString(4), rs.getLong(5), rs.getLong(6),
                        rs.getTimestamp(7).toInstant()), before == 0 ? Long.MAX_VALUE : before, limit);
    }

    public SnapshotRow snapshot(long height) {
        List<SnapshotRow> rows = snapshots(height + 1, 1);
        return rows.isEmpty() || rows.getFirst().height() != height ? null : rows.getFirst();
    }

    /**
     * Installs a state restored from a snapshot at {@code row}'s height, in one transaction: its nodes and values,
     * each live key as changed at that height (by no transaction: the history before it is not on this cell) and
     * each key this cell had that the snapshot does not as deleted there,
     * namespace sizes counted afresh, and the height itself — after which the state machine follows on from there.
     */
    public void install(HeightRow row, List<StateMachine.KeyChange> keys, List<LiveKey> gone,
            TreeStore.Pending pending) {
        tx.executeWithoutResult(status -> {
            writeTree(pending);
            List<Object[]> changes = new ArrayList<>(keys.size());
            Map<String, Long> counts = new TreeMap<>();
            for (StateMachine.KeyChange k : keys) {
                changes.add(new Object[] {k.namespace(), k.key(), row.height(), k.valueHash(), ""});
                counts.merge(k.namespace(), 1L, Long::sum);
            }
            for (LiveKey k : gone) { // live before, absent from the snapshot: deleted by then
                changes.add(new Object[] {k.namespace(), k.key(), row.height(), null, ""});
                counts.merge(k.namespace(), 0L, Long::sum);
            }
            jdbc.update("DELETE FROM state_change WHERE height >= ?", row.height());
            jdbc.batchUpdate("INSERT INTO state_change (namespace, skey, height, value_hash, tx_id)"
                    + " VALUES (?, ?, ?, ?, ?)", changes);
            jdbc.update("DELETE FROM state_namespace");
            List<Object[]> ns = new ArrayList<>();
            counts.forEach((n, c) -> ns.add(new Object[] {n, c, row.height()}));
            jdbc.batchUpdate("INSERT INTO state_namespace (namespace, key_count, last_changed_height) VALUES (?, ?, ?)",
                    ns);
            jdbc.update("INSERT INTO state_height (height, root, block_hash, tx_count, failed_tx_count, applied_at)"
                    + " VALUES (?, ?, ?, 0, 0, ?)", row.height(), row.root(), row.blockHash(),
                    Timestamp.from(row.appliedAt()));
        });
    }

    private void writeTree(TreeStore.Pending pending) {
        List<Object[]> nodes = new ArrayList<>(pending.nodes().size());
        for (SparseMerkleTree.Node n : pending.nodes()) {
            if (n instanceof SparseMerkleTree.Leaf l) {
                nodes.add(new Object[] {l.hash(), TreeStore.LEAF, l.path(), l.valueHash()});
            } else if (n instanceof SparseMerkleTree.Internal in) {
                nodes.add(new Object[] {in.hash(), TreeStore.INTERNAL, in.left(), in.right()});
            }
        }
        jdbc.batchUpdate("INSERT INTO state_node (hash, kind, a, b) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", nodes);
        List<Object[]> values = new ArrayList<>(pending.values().size());
        for (Map.Entry<ByteBuffer, byte[]> v : pending.values().entrySet()) {
            values.add(new Object[] {v.getKey().array(), v.getValue()});
        }
        jdbc.batchUpdate("INSERT INTO state_value (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING", values);
    }

    /** Writes a group of consecutive heights and the nodes and values they made, in one transaction. */
    public void commit(List<AppliedHeight> heights, TreeStore.Pending pending) {
        tx.executeWithoutResult(status -> {
            writeTree(pending);
            List<Object[]> rows = new ArrayList<>();
            List<Object[]> changes = new ArrayList<>();
            List<Object[]> txs = new ArrayList<>();
            Map<String, long[]> namespaces = new TreeMap<>(); // namespace -> {key count delta, last height}
            for (AppliedHeight h : heights) {
                HeightRow r = h.row();
                rows.add(new Object[] {r.height(), r.root(), r.blockHash(), r.txCount(), r.failedTxCount(),
                        Timestamp.from(r.appliedAt())});
                for (StateMachine.KeyChange c : h.applied().changes()) {
                    changes.add(new Object[] {c.namespace(), c.key(), r.height(), c.valueHash(), c.txId()});
                    long[] ns = namespaces.computeIfAbsent(c.namespace(), k -> new long[2]);
                    ns[0] += c.created() ? 1 : c.removed() ? -1 : 0;
                    ns[1] = r.height();
                }
                for (StateMachine.Outcome o : h.applied().outcomes()) {
                    txs.add(new Object[] {o.txId(), r.height(), o.applied(), o.failure()});
                }
            }
            jdbc.batchUpdate("INSERT INTO state_change (namespace, skey, height, value_hash, tx_id)"
                    + " VALUES (?, ?, ?, ?, ?)", changes);
            jdbc.batchUpdate("INSERT INTO state_tx (tx_id, height, applied, failure) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT DO NOTHING", txs);
            namespaces.forEach((ns, d) -> {
                if (jdbc.update("UPDATE state_namespace SET key_count = key_count + ?, last_changed_height = ?"
                        + " WHERE namespace = ?", d[0], d[1], ns) == 0) {
                    jdbc.update("INSERT INTO state_namespace (namespace, key_count, last_changed_height)"
                            + " VALUES (?, ?, ?)", ns, d[0], d[1]);
                }
            });
            // last, so that a height is there only with everything it wrote
            jdbc.batchUpdate("INSERT INTO state_height (height, root, block_hash, tx_count, failed_tx_count,"
                    + " applied_at) VALUES (?, ?, ?, ?, ?, ?)", rows);
        });
    }
}
