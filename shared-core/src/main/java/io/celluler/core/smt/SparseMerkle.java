package io.celluler.core.smt;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;

import io.celluler.core.hash.Sha256;

/**
 * The state's authenticated structure (proto {@code PROOF_SCHEME_SPARSE_MERKLE_SHA256}): a binary sparse Merkle tree
 * of depth 256 over SHA-256 key paths, compacted — a subtree that holds one leaf is that leaf, wherever it sits —
 * so a tree of N keys is about log2(N) deep. Hashes:
 * <ul>
 * <li>a key's path: {@code SHA-256(namespace, 0x00, key)}; the path's bits, most significant first, pick the
 * branches from the root;</li>
 * <li>a leaf: {@code SHA-256(0x00, path, SHA-256(value))};</li>
 * <li>an internal node: {@code SHA-256(0x01, left, right)};</li>
 * <li>an empty subtree at depth d: {@code EMPTY[d]}, with {@code EMPTY[256]} = 32 zero bytes and
 * {@code EMPTY[d] = SHA-256(0x01, EMPTY[d+1], EMPTY[d+1])}.</li>
 * </ul>
 * The root is a function of the set of (path, value) pairs alone, not of the order they were written in. This class
 * holds the hashing and checks proofs; it needs nothing but the proof and the root (offline verification).
 */
public final class SparseMerkle {

    public static final int DEPTH = 256;
    private static final byte LEAF = 0x00;
    private static final byte NODE = 0x01;
    private static final byte[][] EMPTY = new byte[DEPTH + 1][];

    static {
        EMPTY[DEPTH] = new byte[32];
        for (int d = DEPTH - 1; d >= 0; d--) {
            EMPTY[d] = node(EMPTY[d + 1], EMPTY[d + 1]);
        }
    }

    private SparseMerkle() {
    }

    /** The hash of an empty subtree whose top is at depth {@code depth} (0: the root). */
    public static byte[] empty(int depth) {
        return EMPTY[depth].clone();
    }

    /** Whether {@code hash} is the hash of an empty subtree whose top is at depth {@code depth}. */
    public static boolean isEmpty(byte[] hash, int depth) {
        return Arrays.equals(hash, EMPTY[depth]);
    }

    /** A key's path: SHA-256 of the namespace, a zero byte, the key. */
    public static byte[] path(String namespace, byte[] key) {
        MessageDigest md = Sha256.newDigest();
        md.update(namespace.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        md.update(key);
        return md.digest();
    }

    public static byte[] valueHash(byte[] value) {
        return Sha256.newDigest().digest(value);
    }

    public static byte[] leaf(byte[] path, byte[] valueHash) {
        MessageDigest md = Sha256.newDigest();
        md.update(LEAF);
        md.update(path);
        md.update(valueHash);
        return md.digest();
    }

    public static byte[] node(byte[] left, byte[] right) {
        MessageDigest md = Sha256.newDigest();
        md.update(NODE);
        md.update(left);
        md.update(right);
        return md.digest();
    }

    /** Bit {@code i} of a path (0: the most significant bit of the first byte, the root's branch). */
    public static int bit(byte[] path, int i) {
        return (path[i >>> 3] >>> (7 - (i & 7))) & 1;
    }

    /**
     * What a proof says, as checked against a root: where the walk from the root along the key's path ended, at
     * depth {@code depth}, with the siblings met on the way ({@code siblings.get(0)} the deepest).
     *
     * @param valueHash  for an inclusion, the value's hash; else null
     * @param otherPath  for a non-inclusion that ends at another key's leaf, that key's path; else null
     * @param otherValue that leaf's value hash
     */
    public record Proof(byte[] path, int depth, byte[] valueHash, byte[] otherPath, byte[] otherValue,
            List<byte[]> siblings) {

        public boolean exists() {
            return valueHash != null;
        }
    }

    /**
     * Whether {@code proof} is a proof about {@code path} (the key the caller asked about: a non-inclusion proof
     * also holds for every other absent key below where it ends) and leads to {@code root}.
     */
    public static boolean verify(byte[] root, byte[] path, Proof proof) {
        return path != null && proof.path() != null && Arrays.equals(path, proof.path()) && verify(root, proof);
    }

    /**
     * Whether {@code proof} leads to {@code root}: the terminal hash (the key's leaf, another key's leaf that shares
     * the path down to {@code depth}, or an empty subtree) folded up with the siblings along the key's path.
     */
    public static boolean verify(byte[] root, Proof proof) {
        byte[] path = proof.path();
        int depth = proof.depth();
        if (root == null || root.length != 32 || path == null || path.length != 32 || depth < 0 || depth > DEPTH
                || proof.siblings() == null || proof.siblings().size() != depth) {
            return false;
        }
        byte[] h;
        if (proof.valueHash() != null) {
            if (proof.otherPath() != null || proof.valueHash().length != 32) {
                return false;
            }
            h = leaf(path, proof.valueHash());
        } else if (proof.otherPath() != null) {
            byte[] other = proof.otherPath();
            if (other.length != 32 || proof.otherValue() == null || proof.otherValue().length != 32
                    || Arrays.equals(other, path) || !samePrefix(other, path, depth)) {
                return false;
            }
            h = leaf(other, proof.otherValue());
        } else {
            h = EMPTY[depth];
        }
        for (int level = depth - 1; level >= 0; level--) {
            byte[] sibling = proof.siblings().get(depth - 1 - level);
            if (sibling == null || sibling.length != 32) {
                return false;
            }
            h = bit(path, level) == 0 ? node(h, sibling) : node(sibling, h);
        }
        return Arrays.equals(h, root);
    }

    /** Whether two paths agree on their first {@code bits} bits. */
    public static boolean samePrefix(byte[] a, byte[] b, int bits) {
        for (int i = 0; i < bits; i++) {
            if (bit(a, i) != bit(b, i)) {
                return false;
            }
        }
        return true;
    }
}
