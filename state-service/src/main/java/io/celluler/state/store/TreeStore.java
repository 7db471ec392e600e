package io.celluler.state.store;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The tree's nodes and the values, by hash, for the state machine and for readers: what the applier wrote since its
 * last commit ({@link #pending}), then a bounded cache of committed ones, then the database. Nodes and values never
 * change once written, so the cache needs no invalidation and a reader at a committed root never needs a pending
 * one. The applier hands the pending ones to {@link StateStore#commit} and then {@link #committed()} or
 * {@link #discard()}s them.
 */
public final class TreeStore implements SparseMerkleTree.NodeStore, StateMachine.ValueStore {

    static final int LEAF = 0;
    static final int INTERNAL = 1;
    /** Values cached by their size in bytes at most this much. */
    static final long VALUE_CACHE_BYTES = 64L << 20;

    private final JdbcTemplate jdbc;
    private final Map<ByteBuffer, SparseMerkleTree.Node> pendingNodes = new ConcurrentHashMap<>();
    private final Map<ByteBuffer, byte[]> pendingValues = new ConcurrentHashMap<>();
    private final Cache<ByteBuffer, SparseMerkleTree.Node> nodes;
    private final Cache<ByteBuffer, byte[]> values;

    public TreeStore(JdbcTemplate jdbc, long nodeCacheEntries) {
        this.jdbc = jdbc;
        this.nodes = Caffeine.newBuilder().maximumSize(nodeCacheEntries).build();
        this.values = Caffeine.newBuilder().maximumWeight(VALUE_CACHE_BYTES)
                .weigher((ByteBuffer k, byte[] v) -> 64 + v.length).build();
    }

    @Override
    public SparseMerkleTree.Node get(byte[] hash) {
        ByteBuffer k = ByteBuffer.wrap(hash);
        SparseMerkleTree.Node n = pendingNodes.get(k);
        if (n != null) {
            return n;
        }
        return nodes.get(k, key -> load(hash));
    }

    @Override
    public void put(SparseMerkleTree.Node node) {
        ByteBuffer k = ByteBuffer.wrap(node.hash());
        if (nodes.getIfPresent(k) == null) {
            pendingNodes.putIfAbsent(k, node);
        }
    }

    @Override
    public byte[] value(byte[] hash) {
        ByteBuffer k = ByteBuffer.wrap(hash);
        byte[] v = pendingValues.get(k);
        if (v != null) {
            return v;
        }
        return values.get(k, key -> jdbc.query("SELECT body FROM state_value WHERE hash = ?",
                (rs, i) -> rs.getBytes(1), (Object) hash).stream().findFirst().orElse(null));
    }

    @Override
    public void putValue(byte[] hash, byte[] value) {
        pendingValues.putIfAbsent(ByteBuffer.wrap(hash), value);
    }

    /** What the applier wrote since the last commit. */
    public Pending pending() {
        return new Pending(List.copyOf(pendingNodes.values()), Map.copyOf(pendingValues));
    }

    /** The pending nodes and values are in the database now: they move to the cache. */
    public void committed() {
        pendingNodes.forEach(nodes::put);
        pendingValues.forEach(values::put);
        pendingNodes.clear();
        pendingValues.clear();
    }

    /** The commit failed: what was pending is forgotten (the state machine is reloaded from the database). */
    public void discard() {
        pendingNodes.clear();
        pendingValues.clear();
    }

    /** Nodes and values to write. */
    public record Pending(List<SparseMerkleTree.Node> nodes, Map<ByteBuffer, byte[]> values) {
    }

    private SparseMerkleTree.Node load(byte[] hash) {
        return jdbc.query("SELECT kind, a, b FROM state_node WHERE hash = ?", (rs, i) -> {
            byte[] a = rs.getBytes(2);
            byte[] b = rs.getBytes(3);
            return rs.getInt(1) == LEAF ? (SparseMerkleTree.Node) new SparseMerkleTree.Leaf(a, b, hash)
                    : new SparseMerkleTree.Internal(a, b, hash);
        }, (Object) hash).stream().findFirst().orElse(null);
    }
}
