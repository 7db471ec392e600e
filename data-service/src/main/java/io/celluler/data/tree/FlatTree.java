package io.celluler.data.tree;

import java.util.ArrayList;
import java.util.List;

/**
 * Index arithmetic of a flat in-order binary tree (the layout of DAT/Hypercore): leaf i is node 2i, and each parent
 * sits between its two children, so node n has depth = the number of trailing one bits of n, and the nodes of one
 * depth are numbered by their offset from the left. A tree of L leaves is a list of <i>full roots</i>: perfect
 * subtrees, largest first, whose leaves together are 0..L-1. Nodes are never changed once their subtree is
 * complete: an append only adds nodes.
 */
public final class FlatTree {

    private FlatTree() {
    }

    /** Node index of leaf {@code leaf}. */
    public static long leaf(long leaf) {
        return leaf << 1;
    }

    /** Depth of node {@code n} (0 for leaves). */
    public static int depth(long n) {
        return Long.numberOfTrailingZeros(~n);
    }

    /** Offset of node {@code n} among the nodes of its depth, from the left. */
    public static long offset(long n) {
        return n >>> (depth(n) + 1);
    }

    /** Node index at {@code depth} and {@code offset}. */
    public static long index(int depth, long offset) {
        return (offset << (depth + 1)) | ((1L << depth) - 1);
    }

    public static long parent(long n) {
        int d = depth(n);
        return index(d + 1, offset(n) >>> 1);
    }

    public static long sibling(long n) {
        int d = depth(n);
        return index(d, offset(n) ^ 1);
    }

    /** True when {@code n} is the right child of its parent. */
    public static boolean isRight(long n) {
        return (offset(n) & 1) == 1;
    }

    public static long leftChild(long n) {
        int d = depth(n);
        if (d == 0) {
            throw new IllegalArgumentException("leaf " + n + " has no children");
        }
        return n - (1L << (d - 1));
    }

    public static long rightChild(long n) {
        int d = depth(n);
        if (d == 0) {
            throw new IllegalArgumentException("leaf " + n + " has no children");
        }
        return n + (1L << (d - 1));
    }

    /** The first leaf (a leaf number, not a node index) under node {@code n}. */
    public static long firstLeaf(long n) {
        return offset(n) << depth(n);
    }

    /** How many leaves node {@code n} covers. */
    public static long leafCount(long n) {
        return 1L << depth(n);
    }

    /** The full roots of a tree of {@code leaves} leaves, left to right (largest first). */
    public static List<Long> roots(long leaves) {
        if (leaves < 0) {
            throw new IllegalArgumentException("a tree has no negative length: " + leaves);
        }
        List<Long> out = new ArrayList<>(Long.bitCount(leaves));
        long first = 0; // the first leaf not covered by a root yet
        for (int d = 63; d >= 0; d--) {
            long span = 1L << d;
            if ((leaves & span) != 0) {
                out.add(index(d, first >>> d));
                first += span;
            }
        }
        return out;
    }

    /** The root of the tree of {@code leaves} leaves that covers leaf {@code leaf} (which must be below it). */
    public static long rootOf(long leaf, long leaves) {
        if (leaf < 0 || leaf >= leaves) {
            throw new IllegalArgumentException("leaf " + leaf + " is not in a tree of " + leaves);
        }
        for (long r : roots(leaves)) {
            if (leaf < firstLeaf(r) + leafCount(r)) {
                return r;
            }
        }
        throw new AssertionError("the roots cover every leaf");
    }
}
