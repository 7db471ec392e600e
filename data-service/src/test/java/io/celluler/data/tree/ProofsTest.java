package io.celluler.data.tree;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.celluler.core.identity.Ed25519;
import io.celluler.data.tree.Proofs.ProofException;
import io.celluler.data.tree.TreeHash.Node;
import org.junit.jupiter.api.Test;

/**
 * The flat tree's arithmetic against a naive model, and proofs: every inclusion, consistency and range proof of trees
 * up to 40 entries verifies, and fails after any single-bit change of an entry, a node hash, a node size or a
 * signature; a consistency proof of a second history (a fork) is told from a bad proof.
 */
class ProofsTest {

    /** A tree built the slow way: every complete node, by index. */
    static Map<Long, Node> build(List<byte[]> entries) {
        Map<Long, Node> nodes = new HashMap<>();
        List<Node> level = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Node leaf = TreeHash.leaf(i, entries.get(i));
            nodes.put(leaf.index(), leaf);
            level.add(leaf);
        }
        while (level.size() > 1) {
            List<Node> up = new ArrayList<>();
            for (int i = 0; i + 1 < level.size(); i += 2) {
                Node p = TreeHash.parent(level.get(i), level.get(i + 1));
                nodes.put(p.index(), p);
                up.add(p);
            }
            level = up;
        }
        return nodes;
    }

    static List<byte[]> entries(int n, long seed) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] e = new byte[1 + r.nextInt(40)];
            r.nextBytes(e);
            out.add(e);
        }
        return out;
    }

    static byte[] flip(byte[] b, int bit) {
        byte[] c = b.clone();
        c[bit / 8] ^= (byte) (1 << (bit % 8));
        return c;
    }

    @Test
    void theArithmeticMatchesTheLayout() {
        assertThat(FlatTree.depth(0)).isZero();
        assertThat(FlatTree.depth(1)).isEqualTo(1);
        assertThat(FlatTree.depth(7)).isEqualTo(3);
        assertThat(FlatTree.parent(0)).isEqualTo(1);
        assertThat(FlatTree.parent(2)).isEqualTo(1);
        assertThat(FlatTree.parent(5)).isEqualTo(3);
        assertThat(FlatTree.sibling(4)).isEqualTo(6);
        assertThat(FlatTree.leftChild(3)).isEqualTo(1);
        assertThat(FlatTree.rightChild(3)).isEqualTo(5);
        assertThat(FlatTree.roots(0)).isEmpty();
        assertThat(FlatTree.roots(1)).containsExactly(0L);
        assertThat(FlatTree.roots(3)).containsExactly(1L, 4L);
        assertThat(FlatTree.roots(6)).containsExactly(3L, 9L);
        assertThat(FlatTree.roots(7)).containsExactly(3L, 9L, 12L);
        for (long leaves = 1; leaves < 300; leaves++) {
            // the roots cover 0..leaves-1 exactly once, left to right, largest first
            long next = 0;
            long previous = Long.MAX_VALUE;
            for (long r : FlatTree.roots(leaves)) {
                assertThat(FlatTree.firstLeaf(r)).isEqualTo(next);
                assertThat(FlatTree.leafCount(r)).isLessThan(previous);
                previous = FlatTree.leafCount(r);
                next += FlatTree.leafCount(r);
            }
            assertThat(next).isEqualTo(leaves);
        }
    }

    @Test
    void everyInclusionProofVerifiesAndNoFlippedBitDoes() throws Exception {
        byte[] seed = Ed25519.newPrivateSeed(new SecureRandom());
        byte[] feedKey = Ed25519.publicKey(seed);
        Ed25519.SigningKey key = Ed25519.signingKey(seed);
        List<byte[]> all = entries(40, 1);
        Map<Long, Node> nodes = build(all);
        for (long length = 1; length <= all.size(); length++) {
            List<Node> roots = FlatTree.roots(length).stream().map(nodes::get).toList();
            byte[] rootHash = TreeHash.rootHash(roots);
            long bytes = Proofs.byteLength(roots);
            byte[] signature = SignedRoots.sign(key, feedKey, length, bytes, rootHash);
            assertThat(SignedRoots.verify(feedKey, length, bytes, rootHash, signature)).isTrue();
            for (long leaf = 0; leaf < length; leaf++) {
                List<Node> proof = Proofs.inclusion(leaf, length, nodes::get);
                byte[] data = all.get((int) leaf);
                assertThat(TreeHash.rootHash(Proofs.rootsFromInclusion(leaf, data, length, proof))).isEqualTo(rootHash);
                if (length == all.size() || length == 13) { // every bit of the proofs of two lengths
                    for (int bit = 0; bit < data.length * 8; bit++) {
                        assertThat(TreeHash.rootHash(Proofs.rootsFromInclusion(leaf, flip(data, bit), length, proof)))
                                .isNotEqualTo(rootHash);
                    }
                    for (int i = 0; i < proof.size(); i++) {
                        for (int bit = 0; bit < 256; bit += 7) {
                            List<Node> bad = new ArrayList<>(proof);
                            Node n = bad.get(i);
                            bad.set(i, new Node(n.index(), flip(n.hash(), bit), n.size()));
                            assertThat(TreeHash.rootHash(Proofs.rootsFromInclusion(leaf, data, length, bad))).isNotEqualTo(rootHash);
                        }
                        List<Node> resized = new ArrayList<>(proof);
                        Node n = resized.get(i);
                        resized.set(i, new Node(n.index(), n.hash(), n.size() ^ 1));
                        assertThat(TreeHash.rootHash(Proofs.rootsFromInclusion(leaf, data, length, resized))).isNotEqualTo(rootHash);
                    }
                }
            }
            for (int bit = 0; bit < 512; bit += 13) {
                assertThat(SignedRoots.verify(feedKey, length, bytes, rootHash, flip(signature, bit))).isFalse();
            }
            assertThat(SignedRoots.verify(feedKey, length + 1, bytes, rootHash, signature)).isFalse();
            assertThat(SignedRoots.verify(feedKey, length, bytes + 1, rootHash, signature)).isFalse();
        }
        // a proof with a node missing, one too many, or out of place is refused before any hashing
        List<Node> proof = Proofs.inclusion(5, 40, nodes::get);
        assertThatThrownBy(() -> Proofs.rootsFromInclusion(5, all.get(5), 40, proof.subList(1, proof.size())))
                .isInstanceOf(ProofException.class);
        List<Node> swapped = new ArrayList<>(proof);
        java.util.Collections.swap(swapped, 0, 1);
        assertThatThrownBy(() -> Proofs.rootsFromInclusion(5, all.get(5), 40, swapped)).isInstanceOf(ProofException.class);
        assertThatThrownBy(() -> Proofs.rootsFromInclusion(40, all.get(5), 40, proof)).isInstanceOf(ProofException.class);
    }

    @Test
    void everyConsistencyProofVerifiesAndNoFlippedBitDoes() throws Exception {
        List<byte[]> all = entries(33, 2);
        Map<Long, Node> nodes = build(all);
        for (long to = 1; to <= all.size(); to++) {
            byte[] toHash = TreeHash.rootHash(FlatTree.roots(to).stream().map(nodes::get).toList());
            for (long from = 1; from <= to; from++) {
                byte[] fromHash = TreeHash.rootHash(FlatTree.roots(from).stream().map(nodes::get).toList());
                List<Node> proof = Proofs.consistency(from, to, nodes::get);
                Proofs.verifyConsistency(from, to, proof, fromHash, toHash);
                for (int i = 0; i < proof.size(); i++) {
                    List<Node> bad = new ArrayList<>(proof);
                    Node n = bad.get(i);
                    bad.set(i, new Node(n.index(), flip(n.hash(), (int) ((from * 31 + i) % 256)), n.size()));
                    long f = from;
                    long t = to;
                    assertThatThrownBy(() -> Proofs.verifyConsistency(f, t, bad, fromHash, toHash)).isInstanceOf(ProofException.class);
                }
                // a tree that rewrote an old entry is not consistent with the old root
                if (from < to) {
                    List<byte[]> rewritten = new ArrayList<>(all);
                    rewritten.set((int) from - 1, flip(all.get((int) from - 1), 0));
                    Map<Long, Node> other = build(rewritten);
                    byte[] otherTo = TreeHash.rootHash(FlatTree.roots(to).stream().map(other::get).toList());
                    List<Node> otherProof = Proofs.consistency(from, to, other::get);
                    long f = from;
                    long t = to;
                    assertThatThrownBy(() -> Proofs.verifyConsistency(f, t, otherProof, fromHash, otherTo))
                            .isInstanceOf(ProofException.class);
                }
            }
        }
        assertThatThrownBy(() -> Proofs.verifyConsistency(0, 3, List.of(), new byte[32], new byte[32]))
                .isInstanceOf(ProofException.class);
    }

    @Test
    void everyRangeProofVerifiesAndNoFlippedBitDoes() throws Exception {
        List<byte[]> all = entries(23, 3);
        Map<Long, Node> nodes = build(all);
        for (long length = 1; length <= all.size(); length++) {
            List<Node> roots = FlatTree.roots(length).stream().map(nodes::get).toList();
            byte[] rootHash = TreeHash.rootHash(roots);
            for (long start = 0; start < length; start++) {
                for (long end = start + 1; end <= length; end++) {
                    List<byte[]> range = all.subList((int) start, (int) end);
                    List<Node> proof = Proofs.rangeIndexes(start, end, length).stream().map(nodes::get).toList();
                    Proofs.VerifiedRange v = Proofs.rootsFromRange(start, range, length, proof);
                    assertThat(TreeHash.rootHash(v.roots())).isEqualTo(rootHash);
                    assertThat(Proofs.byteLength(v.roots())).isEqualTo(Proofs.byteLength(roots));
                    // every node met is the tree's own, and every leaf of the range is among them
                    for (Node n : v.nodes()) {
                        assertThat(n.hash()).isEqualTo(nodes.get(n.index()).hash());
                    }
                    assertThat(v.nodes().stream().map(Node::index).toList())
                            .containsAll(java.util.stream.LongStream.range(start, end).map(FlatTree::leaf).boxed().toList());
                    if (end - start == 1) { // one entry: its inclusion proof's nodes
                        assertThat(Proofs.rangeIndexes(start, end, length)).containsExactlyElementsOf(
                                Proofs.inclusionIndexes(start, length).stream().sorted(java.util.Comparator
                                        .comparingLong(FlatTree::firstLeaf)).toList());
                    }
                    if (length == all.size() && (start * 7 + end) % 5 == 0) {
                        long s = start;
                        long len = length;
                        for (int i = 0; i < range.size(); i++) {
                            List<byte[]> bad = new ArrayList<>(range);
                            bad.set(i, flip(range.get(i), (int) (i * 11 % (range.get(i).length * 8))));
                            assertThat(TreeHash.rootHash(Proofs.rootsFromRange(s, bad, len, proof).roots())).isNotEqualTo(rootHash);
                        }
                        for (int i = 0; i < proof.size(); i++) {
                            List<Node> bad = new ArrayList<>(proof);
                            Node n = bad.get(i);
                            bad.set(i, new Node(n.index(), flip(n.hash(), i * 37 % 256), n.size()));
                            assertThat(TreeHash.rootHash(Proofs.rootsFromRange(s, range, len, bad).roots())).isNotEqualTo(rootHash);
                        }
                        if (!proof.isEmpty()) {
                            assertThatThrownBy(() -> Proofs.rootsFromRange(s, range, len, proof.subList(1, proof.size())))
                                    .isInstanceOf(ProofException.class);
                        }
                        // the same entries claimed one place further fail
                        if (end < length) {
                            List<Node> shifted = Proofs.rangeIndexes(s + 1, end + 1, len).stream().map(nodes::get).toList();
                            assertThat(TreeHash.rootHash(Proofs.rootsFromRange(s + 1, range, len, shifted).roots()))
                                    .isNotEqualTo(rootHash);
                        }
                    }
                }
            }
        }
        assertThatThrownBy(() -> Proofs.rootsFromRange(3, List.of(), 5, List.of())).isInstanceOf(ProofException.class);
        assertThatThrownBy(() -> Proofs.rootsFromRange(4, all.subList(0, 2), 5, List.of())).isInstanceOf(ProofException.class);
    }

    @Test
    void aConsistencyProofTellsABadProofFromAFork() throws Exception {
        List<byte[]> all = entries(20, 4);
        Map<Long, Node> nodes = build(all);
        List<byte[]> rewritten = new ArrayList<>(all);
        rewritten.set(6, flip(all.get(6), 3)); // the owner signed a second history from entry 6 on
        Map<Long, Node> fork = build(rewritten);
        for (long from = 7; from <= 12; from++) {
            byte[] fromHash = TreeHash.rootHash(FlatTree.roots(from).stream().map(nodes::get).toList());
            long to = 20;
            byte[] forkHash = TreeHash.rootHash(FlatTree.roots(to).stream().map(fork::get).toList());
            List<Node> proof = Proofs.consistency(from, to, fork::get);
            // an honest proof of the other history: it leads to the signed root, and its old roots are not ours
            List<Node> oldRoots = Proofs.oldRootsFromConsistency(from, to, proof, forkHash);
            assertThat(TreeHash.rootHash(oldRoots)).isNotEqualTo(fromHash);
            // a peer that swaps in our old roots cannot make it lead to the signed root
            List<Node> ours = new ArrayList<>(proof);
            List<Node> ourRoots = FlatTree.roots(from).stream().map(nodes::get).toList();
            for (int i = 0; i < ourRoots.size(); i++) {
                ours.set(i, ourRoots.get(i));
            }
            long f = from;
            assertThatThrownBy(() -> Proofs.oldRootsFromConsistency(f, to, ours, forkHash)).isInstanceOf(ProofException.class);
            // and the honest history's proof gives our old roots
            byte[] toHash = TreeHash.rootHash(FlatTree.roots(to).stream().map(nodes::get).toList());
            assertThat(TreeHash.rootHash(Proofs.oldRootsFromConsistency(from, to, Proofs.consistency(from, to, nodes::get), toHash)))
                    .isEqualTo(fromHash);
        }
    }
}
