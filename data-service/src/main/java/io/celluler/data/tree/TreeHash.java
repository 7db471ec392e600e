package io.celluler.data.tree;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.List;

import io.celluler.core.hash.Sha256;

/**
 * The hashes of a feed's tree, SHA-256 with domain separation (so that no leaf can pass for a parent, nor a node for
 * a root): a leaf is {@code H(0x00 ‖ size ‖ data)}, a parent {@code H(0x01 ‖ size ‖ left ‖ right)} with the
 * bytes under it as size, and the tree's root hash {@code H(0x02 ‖ (hash ‖ index ‖ size) of each full root, left to
 * right)}. Sizes and indexes are 8 bytes, big-endian. A node is its index, hash and size.
 */
public final class TreeHash {

    public static final byte LEAF = 0x00;
    public static final byte PARENT = 0x01;
    public static final byte ROOT = 0x02;

    /** A node of the tree: flat-tree index, 32-byte hash, bytes of the entries under it. */
    public record Node(long index, byte[] hash, long size) {
        public Node {
            if (hash.length != Sha256.LENGTH_BYTES) {
                throw new IllegalArgumentException("a node hash is 32 bytes, not " + hash.length);
            }
        }
    }

    private TreeHash() {
    }

    public static Node leaf(long leafIndex, byte[] data) {
        MessageDigest d = Sha256.newDigest();
        d.update(LEAF);
        d.update(u64(data.length));
        d.update(data);
        return new Node(FlatTree.leaf(leafIndex), d.digest(), data.length);
    }

    public static Node parent(Node left, Node right) {
        if (FlatTree.sibling(left.index()) != right.index() || FlatTree.isRight(left.index())) {
            throw new IllegalArgumentException("nodes " + left.index() + " and " + right.index() + " are not left and right siblings");
        }
        MessageDigest d = Sha256.newDigest();
        d.update(PARENT);
        d.update(u64(left.size() + right.size()));
        d.update(left.hash());
        d.update(right.hash());
        return new Node(FlatTree.parent(left.index()), d.digest(), left.size() + right.size());
    }

    /** The root hash over a tree's full roots (left to right); of no roots (an empty feed) too. */
    public static byte[] rootHash(List<Node> roots) {
        MessageDigest d = Sha256.newDigest();
        d.update(ROOT);
        for (Node r : roots) {
            d.update(r.hash());
            d.update(u64(r.index()));
            d.update(u64(r.size()));
        }
        return d.digest();
    }

    static byte[] u64(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }
}
