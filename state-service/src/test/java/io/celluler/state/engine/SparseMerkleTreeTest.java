package io.celluler.state.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import io.celluler.core.smt.SparseMerkle;
import io.celluler.core.smt.SparseMerkle.Proof;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The state tree against its definition ({@link SparseMerkle}): the incremental, batched, persistent tree has the
 * root that the definition gives for its key set, whatever the order and batching of the writes; proofs of present
 * and absent keys verify, and fail after any single-bit change; old roots stay readable.
 */
class SparseMerkleTreeTest {

    /** The root of a key set straight from the definition (recursively, no store). */
    static byte[] definition(int depth, List<byte[][]> leaves) {
        if (leaves.isEmpty()) {
            return SparseMerkle.empty(depth);
        }
        if (leaves.size() == 1) {
            return SparseMerkle.leaf(leaves.getFirst()[0], leaves.getFirst()[1]);
        }
        List<byte[][]> left = new ArrayList<>();
        List<byte[][]> right = new ArrayList<>();
        leaves.forEach(l -> (SparseMerkle.bit(l[0], depth) == 0 ? left : right).add(l));
        return SparseMerkle.node(definition(depth + 1, left), definition(depth + 1, right));
    }

    static byte[] key(int n) {
        return SparseMerkle.path("ns", ("key-" + n).getBytes());
    }

    static byte[] value(int n, int version) {
        return SparseMerkle.valueHash(("value-" + n + "-" + version).getBytes());
    }

    /** Writes of keys 0..keys-1 (some deleted) in batches; compares with the definition of the final set. */
    @Provide
    Arbitrary<List<int[]>> writes() {
        // each write: key (0-40), version (0 = delete), batch boundary after it (0/1)
        return Arbitraries.integers().between(0, 40).flatMap(k -> Arbitraries.integers().between(0, 3)
                .flatMap(v -> Arbitraries.integers().between(0, 1).map(b -> new int[] {k, v, b}))).list()
                .ofMaxSize(120);
    }

    @Property(tries = 300)
    void theRootIsTheDefinitionsWhateverTheOrderAndBatching(@ForAll("writes") List<int[]> writes) {
        SparseMerkleTree tree = new SparseMerkleTree(new SparseMerkleTree.MemoryStore());
        byte[] root = SparseMerkleTree.emptyRoot();
        TreeMap<Integer, Integer> model = new TreeMap<>();
        TreeMap<ByteBuffer, byte[]> batch = new TreeMap<>();
        for (int[] w : writes) {
            batch.put(ByteBuffer.wrap(key(w[0])), w[1] == 0 ? null : value(w[0], w[1]));
            if (w[1] == 0) {
                model.remove(w[0]);
            } else {
                model.put(w[0], w[1]);
            }
            if (w[2] == 1) {
                root = tree.update(root, batch);
                batch.clear();
            }
        }
        root = tree.update(root, batch);

        List<byte[][]> leaves = new ArrayList<>();
        model.forEach((k, v) -> leaves.add(new byte[][] {key(k), value(k, v)}));
        assertThat(root).isEqualTo(definition(0, leaves));
        // the same set written at once, in another order, gives the same root
        List<Map.Entry<Integer, Integer>> shuffled = new ArrayList<>(model.entrySet());
        Collections.shuffle(shuffled, new Random(writes.size()));
        TreeMap<ByteBuffer, byte[]> once = new TreeMap<>();
        shuffled.forEach(e -> once.put(ByteBuffer.wrap(key(e.getKey())), value(e.getKey(), e.getValue())));
        assertThat(new SparseMerkleTree(new SparseMerkleTree.MemoryStore()).update(SparseMerkleTree.emptyRoot(), once))
                .isEqualTo(root);
        // every key proves what it holds
        for (int k = 0; k <= 40; k++) {
            Proof p = tree.prove(root, key(k));
            assertThat(SparseMerkle.verify(root, p)).as("key %d", k).isTrue();
            assertThat(p.exists()).isEqualTo(model.containsKey(k));
            if (model.containsKey(k)) {
                assertThat(p.valueHash()).isEqualTo(value(k, model.get(k)));
                assertThat(tree.get(root, key(k))).isEqualTo(value(k, model.get(k)));
            } else {
                assertThat(tree.get(root, key(k))).isNull();
            }
        }
    }

    @Test
    void everySingleBitChangeOfAProofFailsIt() {
        SparseMerkleTree tree = new SparseMerkleTree(new SparseMerkleTree.MemoryStore());
        TreeMap<ByteBuffer, byte[]> batch = new TreeMap<>();
        for (int i = 0; i < 200; i++) {
            batch.put(ByteBuffer.wrap(key(i)), value(i, 1));
        }
        byte[] root = tree.update(SparseMerkleTree.emptyRoot(), batch);
        int checked = 0;
        for (int k : new int[] {3, 150, 1000, 1001, 1002, 1003}) { // present, present, absent ones
            Proof p = tree.prove(root, key(k));
            byte[] asked = key(k); // the verifier's own copy of the path it asked about
            assertThat(SparseMerkle.verify(root, asked, p)).isTrue();
            for (byte[] field : fields(p, root)) {
                for (int bit = 0; bit < field.length * 8; bit++) {
                    field[bit >>> 3] ^= (byte) (1 << (bit & 7));
                    assertThat(SparseMerkle.verify(root, asked, p)).as("key %d, bit %d flipped", k, bit).isFalse();
                    field[bit >>> 3] ^= (byte) (1 << (bit & 7));
                    checked++;
                }
            }
            assertThat(SparseMerkle.verify(root, asked, p)).isTrue();
            // a proof that claims another depth, or drops a sibling, fails too
            assertThat(SparseMerkle.verify(root, new Proof(p.path(), p.depth() + 1, p.valueHash(), p.otherPath(),
                    p.otherValue(), p.siblings()))).isFalse();
            if (p.depth() > 0) {
                assertThat(SparseMerkle.verify(root, new Proof(p.path(), p.depth() - 1, p.valueHash(), p.otherPath(),
                        p.otherValue(), p.siblings().subList(1, p.siblings().size())))).isFalse();
            }
        }
        assertThat(checked).isGreaterThan(6 * 256 * 3);
        // and an absent key cannot be proven present, nor a present one absent
        Proof absent = tree.prove(root, key(1000));
        assertThat(absent.exists()).isFalse();
        assertThat(SparseMerkle.verify(root, new Proof(absent.path(), absent.depth(), value(1000, 1), null, null,
                absent.siblings()))).isFalse();
        Proof present = tree.prove(root, key(3));
        assertThat(SparseMerkle.verify(root, new Proof(present.path(), present.depth(), null, null, null,
                present.siblings()))).isFalse();
    }

    /** The byte arrays of a proof that a bit flip must break (and the root it is checked against). */
    private static List<byte[]> fields(Proof p, byte[] root) {
        List<byte[]> out = new ArrayList<>(p.siblings());
        out.add(p.path());
        out.add(root);
        if (p.valueHash() != null) {
            out.add(p.valueHash());
        }
        if (p.otherPath() != null) {
            out.add(p.otherPath());
            out.add(p.otherValue());
        }
        return out;
    }

    @Test
    void earlierRootsStayReadableAndADeleteGivesTheEarlierRootBack() {
        SparseMerkleTree tree = new SparseMerkleTree(new SparseMerkleTree.MemoryStore());
        List<byte[]> roots = new ArrayList<>();
        byte[] root = SparseMerkleTree.emptyRoot();
        roots.add(root);
        for (int height = 1; height <= 50; height++) {
            TreeMap<ByteBuffer, byte[]> batch = new TreeMap<>();
            for (int i = 0; i < 20; i++) {
                batch.put(ByteBuffer.wrap(key(height * 100 + i)), value(i, height));
            }
            batch.put(ByteBuffer.wrap(key(7)), value(7, height)); // one key rewritten at every height
            root = tree.update(root, batch);
            roots.add(root);
        }
        for (int height = 1; height <= 50; height++) {
            byte[] r = roots.get(height);
            assertThat(tree.get(r, key(7))).isEqualTo(value(7, height));
            assertThat(tree.get(r, key((height + 1) * 100))).as("not yet written at %d", height).isNull();
            Proof p = tree.prove(r, key(height * 100 + 3));
            assertThat(p.exists()).isTrue();
            assertThat(SparseMerkle.verify(r, p)).isTrue();
            assertThat(SparseMerkle.verify(roots.get(height - 1), p)).isFalse();
        }
        // deleting what height 50 wrote gives height 49's root back
        TreeMap<ByteBuffer, byte[]> undo = new TreeMap<>();
        for (int i = 0; i < 20; i++) {
            undo.put(ByteBuffer.wrap(key(50 * 100 + i)), null);
        }
        undo.put(ByteBuffer.wrap(key(7)), value(7, 49));
        assertThat(tree.update(root, undo)).isEqualTo(roots.get(49));
        // and deleting everything gives the empty root
        TreeMap<ByteBuffer, byte[]> all = new TreeMap<>();
        for (int height = 1; height <= 50; height++) {
            for (int i = 0; i < 20; i++) {
                all.put(ByteBuffer.wrap(key(height * 100 + i)), null);
            }
        }
        all.put(ByteBuffer.wrap(key(7)), null);
        assertThat(tree.update(root, all)).isEqualTo(SparseMerkleTree.emptyRoot());
    }
}
