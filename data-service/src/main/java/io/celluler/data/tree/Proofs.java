package io.celluler.data.tree;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.celluler.data.tree.TreeHash.Node;

/**
 * Inclusion proofs (an entry is in the tree of a length) and consistency proofs (the tree of one length extends the
 * tree of a shorter one), built from a feed's stored nodes and checked by anyone who holds the signed roots. The
 * checker computes itself which nodes a proof must hold, in which order: a proof with a node more, less or out of
 * place fails, as does any changed bit in a hash, a size or the entry.
 */
public final class Proofs {

    /** The complete nodes of one feed's tree, by flat-tree index. */
    @FunctionalInterface
    public interface NodeSource {
        Node node(long index);
    }

    /** A proof that does not lead to the root it claims. */
    public static final class ProofException extends Exception {
        public ProofException(String message) {
            super(message);
        }
    }

    private Proofs() {
    }

    // ---- inclusion -----------------------------------------------------------------------------------------------

    /** The nodes proving leaf {@code leaf} in the tree of {@code length} leaves: its path's siblings, then the other roots. */
    public static List<Node> inclusion(long leaf, long length, NodeSource nodes) {
        return inclusionIndexes(leaf, length).stream().map(nodes::node).toList();
    }

    /** Which nodes (flat-tree indexes, in order) the inclusion proof of {@code leaf} at {@code length} holds. */
    public static List<Long> inclusionIndexes(long leaf, long length) {
        long root = FlatTree.rootOf(leaf, length);
        List<Long> out = new ArrayList<>();
        for (long n = FlatTree.leaf(leaf); n != root; n = FlatTree.parent(n)) {
            out.add(FlatTree.sibling(n));
        }
        for (long r : FlatTree.roots(length)) {
            if (r != root) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * The full roots of the tree of {@code length} leaves that entry {@code data} at {@code leaf} and the proof's nodes
     * give; the caller compares their {@link TreeHash#rootHash} with a signed root's.
     */
    public static List<Node> rootsFromInclusion(long leaf, byte[] data, long length, List<Node> proof) throws ProofException {
        if (leaf < 0 || leaf >= length) {
            throw new ProofException("entry " + leaf + " is not in a tree of " + length);
        }
        inPlace(inclusionIndexes(leaf, length), proof);
        long root = FlatTree.rootOf(leaf, length);
        Node n = TreeHash.leaf(leaf, data);
        int at = 0;
        while (n.index() != root) {
            Node sibling = proof.get(at++);
            n = FlatTree.isRight(n.index()) ? TreeHash.parent(sibling, n) : TreeHash.parent(n, sibling);
        }
        List<Node> roots = new ArrayList<>();
        for (long r : FlatTree.roots(length)) {
            roots.add(r == root ? n : proof.get(at++));
        }
        return roots;
    }

    // ---- consistency ---------------------------------------------------------------------------------------------

    /**
     * The nodes proving that the tree of {@code to} leaves extends the tree of {@code from} leaves (0 &lt; from &lt;=
     * to): the full roots at {@code from}, then, for each full root at {@code to}, the largest nodes that hold only
     * leaves from {@code from} on.
     */
    public static List<Node> consistency(long from, long to, NodeSource nodes) {
        return consistencyIndexes(from, to).stream().map(nodes::node).toList();
    }

    /** Which nodes (flat-tree indexes, in order) the consistency proof from {@code from} to {@code to} holds. */
    public static List<Long> consistencyIndexes(long from, long to) {
        if (from < 1 || from > to) {
            throw new IllegalArgumentException("a consistency proof needs 0 < from <= to (got " + from + ", " + to + ")");
        }
        List<Long> out = new ArrayList<>(FlatTree.roots(from));
        Set<Long> old = new HashSet<>(out);
        for (long r : FlatTree.roots(to)) {
            collectNew(r, from, old, out);
        }
        return out;
    }

    private static void collectNew(long n, long from, Set<Long> old, List<Long> out) {
        if (old.contains(n)) {
            return;
        }
        if (FlatTree.firstLeaf(n) >= from) {
            out.add(n);
            return;
        }
        // it straddles `from`: its left part is made of old roots, its right part of new nodes
        collectNew(FlatTree.leftChild(n), from, old, out);
        collectNew(FlatTree.rightChild(n), from, old, out);
    }

    /**
     * Checks a consistency proof: its old roots must give {@code fromRootHash}, and with its new nodes, the roots of
     * the longer tree must give {@code toRootHash}. Every node must be the one expected in its place.
     */
    public static void verifyConsistency(long from, long to, List<Node> proof, byte[] fromRootHash, byte[] toRootHash)
            throws ProofException {
        List<Node> oldRoots = oldRootsFromConsistency(from, to, proof, toRootHash);
        if (!java.util.Arrays.equals(TreeHash.rootHash(oldRoots), fromRootHash)) {
            throw new ProofException("the old roots do not give the root signed at length " + from);
        }
    }

    /**
     * The full roots at {@code from} that the tree signed at {@code to} holds, according to a consistency proof whose
     * nodes give {@code toRootHash} (else a {@link ProofException}: the proof is bad). The old roots are part of that
     * computation, so the signature at {@code to} vouches for them: if their root hash is not the one signed at
     * {@code from}, the owner signed two histories that do not extend each other — a fork, not a bad proof.
     */
    public static List<Node> oldRootsFromConsistency(long from, long to, List<Node> proof, byte[] toRootHash)
            throws ProofException {
        if (from < 1 || from > to) {
            throw new ProofException("a consistency proof needs 0 < from <= to (got " + from + ", " + to + ")");
        }
        Map<Long, Node> byIndex = inPlace(consistencyIndexes(from, to), proof);
        List<Node> newRoots = new ArrayList<>();
        for (long r : FlatTree.roots(to)) {
            newRoots.add(build(r, byIndex, null));
        }
        if (!java.util.Arrays.equals(TreeHash.rootHash(newRoots), toRootHash)) {
            throw new ProofException("the nodes do not give the root signed at length " + to);
        }
        return List.copyOf(proof.subList(0, FlatTree.roots(from).size()));
    }

    // ---- ranges ----------------------------------------------------------------------------------------------------

    /** Entries {@code [start, start + n)} proven against a tree: its roots and every node computed or given on the way. */
    public record VerifiedRange(List<Node> roots, List<Node> nodes) {
    }

    /**
     * Which nodes (flat-tree indexes, in order) prove the entries {@code [start, end)} in the tree of {@code length}
     * leaves: for each full root, left to right, the largest nodes that hold none of those entries. With the entries,
     * they give every full root (a multi-entry inclusion proof; a single entry gets its inclusion proof's nodes).
     */
    public static List<Long> rangeIndexes(long start, long end, long length) {
        if (start < 0 || start >= end || end > length) {
            throw new IllegalArgumentException("entries [" + start + ", " + end + ") are not a range of a tree of " + length);
        }
        List<Long> out = new ArrayList<>();
        for (long r : FlatTree.roots(length)) {
            collectOutside(r, start, end, out);
        }
        return out;
    }

    private static void collectOutside(long n, long start, long end, List<Long> out) {
        long first = FlatTree.firstLeaf(n);
        long last = first + FlatTree.leafCount(n); // exclusive
        if (first >= start && last <= end) {
            return; // computed from the entries
        }
        if (last <= start || first >= end) {
            out.add(n);
            return;
        }
        collectOutside(FlatTree.leftChild(n), start, end, out);
        collectOutside(FlatTree.rightChild(n), start, end, out);
    }

    /**
     * The roots of the tree of {@code length} leaves that {@code entries} (from {@code start}) and a range proof give,
     * with every node met (the caller compares the roots' {@link TreeHash#rootHash} with a signed root's; once equal,
     * every node is vouched for by that signature). A node more, less or out of place fails.
     */
    public static VerifiedRange rootsFromRange(long start, List<byte[]> entries, long length, List<Node> proof)
            throws ProofException {
        long end = start + entries.size();
        if (entries.isEmpty() || start < 0 || end > length) {
            throw new ProofException("entries [" + start + ", " + end + ") are not a range of a tree of " + length);
        }
        Map<Long, Node> known = inPlace(rangeIndexes(start, end, length), proof);
        for (int i = 0; i < entries.size(); i++) {
            Node leaf = TreeHash.leaf(start + i, entries.get(i));
            known.put(leaf.index(), leaf);
        }
        List<Node> met = new ArrayList<>(known.values());
        List<Node> roots = new ArrayList<>();
        for (long r : FlatTree.roots(length)) {
            roots.add(build(r, known, met));
        }
        return new VerifiedRange(roots, met);
    }

    /** The proof's nodes by index, each checked to be the one expected in its place. */
    private static Map<Long, Node> inPlace(List<Long> expected, List<Node> proof) throws ProofException {
        if (proof.size() != expected.size()) {
            throw new ProofException("the proof has " + proof.size() + " nodes, not " + expected.size());
        }
        Map<Long, Node> byIndex = new HashMap<>();
        for (int i = 0; i < expected.size(); i++) {
            if (proof.get(i).index() != expected.get(i)) {
                throw new ProofException("node " + i + " of the proof is " + proof.get(i).index() + ", not " + expected.get(i));
            }
            byIndex.put(expected.get(i), proof.get(i));
        }
        return byIndex;
    }

    /** Node {@code n} from the known nodes, computing the missing parents (added to {@code computed} unless null). */
    private static Node build(long n, Map<Long, Node> known, List<Node> computed) {
        Node k = known.get(n);
        if (k != null) {
            return k;
        }
        if (FlatTree.depth(n) == 0) {
            throw new IllegalStateException("leaf " + n + " is neither given nor proven"); // the indexes rule it out
        }
        Node p = TreeHash.parent(build(FlatTree.leftChild(n), known, computed), build(FlatTree.rightChild(n), known, computed));
        if (computed != null) {
            computed.add(p);
        }
        return p;
    }

    /** The bytes of the entries under {@code roots}: a signed root's byte length must equal it. */
    public static long byteLength(List<Node> roots) {
        long total = 0;
        for (Node r : roots) {
            total += r.size();
        }
        return total;
    }
}
