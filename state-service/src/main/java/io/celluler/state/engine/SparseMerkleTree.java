package io.celluler.state.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import io.celluler.core.smt.SparseMerkle;

/**
 * The state's sparse Merkle tree (the scheme of {@link SparseMerkle}), persistent: nodes are immutable and stored
 * by their hash, an update writes the nodes on the changed paths and answers a new root, and every earlier root
 * stays readable and provable for as long as its nodes are kept (a root per height). Updates come in batches (one
 * block's writes): a batch touches each shared node once.
 */
public final class SparseMerkleTree {

    /** A node: a leaf (one key's path and value hash) or an internal node (two child hashes). */
    public sealed interface Node permits Leaf, Internal {
        byte[] hash();
    }

    public record Leaf(byte[] path, byte[] valueHash, byte[] hash) implements Node {
    }

    public record Internal(byte[] left, byte[] right, byte[] hash) implements Node {
    }

    /** Where nodes live, by hash. Nodes never change; a store may keep them anywhere. */
    public interface NodeStore {
        Node get(byte[] hash);

        void put(Node node);
    }

    /** A store in memory. */
    public static final class MemoryStore implements NodeStore {
        private final Map<ByteBuffer, Node> nodes = new HashMap<>();

        @Override
        public Node get(byte[] hash) {
            return nodes.get(ByteBuffer.wrap(hash));
        }

        @Override
        public void put(Node node) {
            nodes.putIfAbsent(ByteBuffer.wrap(node.hash()), node);
        }

    }

    private final NodeStore store;

    public SparseMerkleTree(NodeStore store) {
        this.store = store;
    }

    /** The root of the empty tree. */
    public static byte[] emptyRoot() {
        return SparseMerkle.empty(0);
    }

    /**
     * Writes a batch: per path (32 bytes) the new value hash, or null to delete. Answers the new root; {@code root}
     * stays as it was.
     */
    public byte[] update(byte[] root, SortedMap<ByteBuffer, byte[]> changes) {
        List<Map.Entry<byte[], byte[]>> list = new ArrayList<>(changes.size());
        changes.forEach((p, v) -> {
            byte[] path = new byte[32];
            p.duplicate().get(path);
            list.add(Map.entry(path, v == null ? DELETE : v));
        });
        return update(root, 0, list);
    }

    private static final byte[] DELETE = new byte[0];

    private byte[] update(byte[] hash, int depth, List<Map.Entry<byte[], byte[]>> changes) {
        if (changes.isEmpty()) {
            return hash;
        }
        if (SparseMerkle.isEmpty(hash, depth)) {
            return build(depth, writes(changes));
        }
        Node n = node(hash);
        if (n instanceof Leaf leaf) {
            List<Map.Entry<byte[], byte[]>> merged = new ArrayList<>(changes.size() + 1);
            boolean overridden = false;
            for (Map.Entry<byte[], byte[]> c : changes) {
                overridden |= Arrays.equals(c.getKey(), leaf.path());
            }
            if (!overridden) {
                merged.add(Map.entry(leaf.path(), leaf.valueHash()));
            }
            merged.addAll(changes);
            return build(depth, writes(merged));
        }
        Internal in = (Internal) n;
        List<Map.Entry<byte[], byte[]>> left = new ArrayList<>();
        List<Map.Entry<byte[], byte[]>> right = new ArrayList<>();
        for (Map.Entry<byte[], byte[]> c : changes) {
            (SparseMerkle.bit(c.getKey(), depth) == 0 ? left : right).add(c);
        }
        return join(depth, update(in.left(), depth + 1, left), update(in.right(), depth + 1, right));
    }

    /** The writes of a change list (deletes dropped), each path once. */
    private static List<Map.Entry<byte[], byte[]>> writes(List<Map.Entry<byte[], byte[]>> changes) {
        List<Map.Entry<byte[], byte[]>> out = new ArrayList<>(changes.size());
        for (Map.Entry<byte[], byte[]> c : changes) {
            if (c.getValue() != DELETE) {
                out.add(c);
            }
        }
        return out;
    }

    /** The subtree at {@code depth} holding exactly {@code leaves} (distinct paths). */
    private byte[] build(int depth, List<Map.Entry<byte[], byte[]>> leaves) {
        if (leaves.isEmpty()) {
            return SparseMerkle.empty(depth);
        }
        if (leaves.size() == 1) {
            byte[] path = leaves.getFirst().getKey();
            byte[] value = leaves.getFirst().getValue();
            Leaf leaf = new Leaf(path, value, SparseMerkle.leaf(path, value));
            store.put(leaf);
            return leaf.hash();
        }
        if (depth >= SparseMerkle.DEPTH) {
            throw new IllegalStateException("two leaves with one path");
        }
        List<Map.Entry<byte[], byte[]>> left = new ArrayList<>();
        List<Map.Entry<byte[], byte[]>> right = new ArrayList<>();
        for (Map.Entry<byte[], byte[]> c : leaves) {
            (SparseMerkle.bit(c.getKey(), depth) == 0 ? left : right).add(c);
        }
        return join(depth, build(depth + 1, left), build(depth + 1, right));
    }

    /** The node at {@code depth} over two children; a lone leaf beside an empty subtree rises in its place. */
    private byte[] join(int depth, byte[] left, byte[] right) {
        boolean leftEmpty = SparseMerkle.isEmpty(left, depth + 1);
        boolean rightEmpty = SparseMerkle.isEmpty(right, depth + 1);
        if (leftEmpty && rightEmpty) {
            return SparseMerkle.empty(depth);
        }
        if (leftEmpty && node(right) instanceof Leaf) {
            return right;
        }
        if (rightEmpty && node(left) instanceof Leaf) {
            return left;
        }
        Internal in = new Internal(left, right, SparseMerkle.node(left, right));
        store.put(in);
        return in.hash();
    }

    /** The value hash at {@code path} in the tree of {@code root}, null when absent. */
    public byte[] get(byte[] root, byte[] path) {
        byte[] h = root;
        for (int depth = 0; ; depth++) {
            if (SparseMerkle.isEmpty(h, depth)) {
                return null;
            }
            Node n = node(h);
            if (n instanceof Leaf leaf) {
                return Arrays.equals(leaf.path(), path) ? leaf.valueHash() : null;
            }
            Internal in = (Internal) n;
            h = SparseMerkle.bit(path, depth) == 0 ? in.left() : in.right();
        }
    }

    /** The proof that {@code path} holds its value, or holds none, in the tree of {@code root}. */
    public SparseMerkle.Proof prove(byte[] root, byte[] path) {
        List<byte[]> siblings = new ArrayList<>();
        byte[] h = root;
        for (int depth = 0; ; depth++) {
            if (SparseMerkle.isEmpty(h, depth)) {
                return proof(path, depth, null, null, null, siblings);
            }
            Node n = node(h);
            if (n instanceof Leaf leaf) {
                return Arrays.equals(leaf.path(), path)
                        ? proof(path, depth, leaf.valueHash(), null, null, siblings)
                        : proof(path, depth, null, leaf.path(), leaf.valueHash(), siblings);
            }
            Internal in = (Internal) n;
            boolean right = SparseMerkle.bit(path, depth) == 1;
            siblings.add(right ? in.left() : in.right());
            h = right ? in.right() : in.left();
        }
    }

    private static SparseMerkle.Proof proof(byte[] path, int depth, byte[] value, byte[] other, byte[] otherValue,
            List<byte[]> topDown) {
        List<byte[]> deepestFirst = new ArrayList<>(topDown);
        Collections.reverse(deepestFirst);
        return new SparseMerkle.Proof(path, depth, value, other, otherValue, deepestFirst);
    }

    private Node node(byte[] hash) {
        Node n = store.get(hash);
        if (n == null) {
            throw new IllegalStateException("node " + io.celluler.core.hash.Sha256.hex(hash) + " is not in the store");
        }
        return n;
    }
}
