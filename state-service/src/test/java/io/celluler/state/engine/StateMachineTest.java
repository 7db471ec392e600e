package io.celluler.state.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import com.google.protobuf.ByteString;
import io.celluler.core.hash.Sha256;
import io.celluler.core.smt.SparseMerkle;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;
import io.celluler.state.engine.StateMachine.Applied;
import io.celluler.state.engine.StateMachine.Tx;
import org.junit.jupiter.api.Test;

/** The state machine applies blocks deterministically; what fails changes nothing; every height stays provable. */
class StateMachineTest {

    static StateMachine fresh() {
        return new StateMachine(new SparseMerkleTree(new SparseMerkleTree.MemoryStore()),
                new StateMachine.MemoryValues(), 0, SparseMerkleTree.emptyRoot());
    }

    static int txNo;

    static Tx tx(StateTransaction t) {
        return new Tx("tx" + (++txNo), StateMachine.STATE_TX, t.toByteArray());
    }

    static Tx put(String ns, String key, String value) {
        return tx(StateTransaction.newBuilder().setPutValue(Mutation.newBuilder().setNamespace(ns).setKey(key)
                .setValue(ByteString.copyFromUtf8(value))).build());
    }

    static Tx delete(String ns, String key) {
        return tx(StateTransaction.newBuilder().setDeleteValue(Mutation.newBuilder().setNamespace(ns).setKey(key))
                .build());
    }

    static Tx cas(String ns, String key, String expected, String value) {
        return tx(StateTransaction.newBuilder().setCompareAndSet(StateTransaction.CompareAndSet.newBuilder()
                .setNamespace(ns).setKey(key).setExpectedValueSha256(expected == null ? ""
                        : Sha256.hexOf(expected.getBytes(StandardCharsets.UTF_8)))
                .setNewValue(ByteString.copyFromUtf8(value))).build());
    }

    static String text(byte[] v) {
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    /** Random blocks of puts, deletes, batches and compare-and-sets on a few namespaces and keys. */
    static List<List<Tx>> blocks(long seed, int count) {
        Random r = new Random(seed);
        List<List<Tx>> out = new ArrayList<>();
        for (int h = 0; h < count; h++) {
            List<Tx> block = new ArrayList<>();
            for (int i = 0, n = r.nextInt(6); i < n; i++) {
                String ns = "ns" + r.nextInt(3);
                String key = "k" + r.nextInt(20);
                block.add(switch (r.nextInt(4)) {
                    case 0 -> put(ns, key, "v" + r.nextInt(5));
                    case 1 -> delete(ns, key);
                    case 2 -> cas(ns, key, r.nextBoolean() ? null : "v" + r.nextInt(5), "c" + h);
                    default -> tx(StateTransaction.newBuilder().setBatch(StateTransaction.Batch.newBuilder()
                            .addMutations(Mutation.newBuilder().setNamespace(ns).setKey(key)
                                    .setValue(ByteString.copyFromUtf8("b" + h)))
                            .addMutations(Mutation.newBuilder().setNamespace(ns).setKey("k" + r.nextInt(20))
                                    .setDeleteKey(true))).build());
                });
            }
            block.add(new Tx("other" + h, "celluler.other.v1.Thing", new byte[] {1, 2, 3}));
            out.add(block);
        }
        return out;
    }

    @Test
    void fourCellsApplyingTheSameBlocksHaveEqualRootsAtEveryHeight() {
        List<List<Tx>> blocks = blocks(5, 60);
        List<StateMachine> cells = List.of(fresh(), fresh(), fresh(), fresh());
        int changed = 0;
        byte[] previous = SparseMerkleTree.emptyRoot();
        for (int h = 1; h <= blocks.size(); h++) {
            List<byte[]> roots = new ArrayList<>();
            for (StateMachine m : cells) {
                Applied a = m.apply(h, blocks.get(h - 1));
                assertThat(a.outcomes()).as("only state transactions have outcomes")
                        .hasSize(blocks.get(h - 1).size() - 1);
                roots.add(a.root());
            }
            roots.forEach(r -> assertThat(r).isEqualTo(roots.getFirst()));
            if (!java.util.Arrays.equals(previous, roots.getFirst())) {
                changed++;
            }
            previous = roots.getFirst();
        }
        assertThat(changed).isGreaterThan(40);
        assertThatThrownBy(() -> cells.getFirst().apply(blocks.size() + 2, List.of()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aFailedTransactionChangesNothingAndSaysWhy() {
        StateMachine m = fresh();
        m.apply(1, List.of(put("app", "a", "1")));
        byte[] before = m.root();
        Tx badBatch = tx(StateTransaction.newBuilder().setBatch(StateTransaction.Batch.newBuilder()
                .addMutations(Mutation.newBuilder().setNamespace("app").setKey("b").setValue(ByteString.copyFromUtf8("2")))
                .addMutations(Mutation.newBuilder().setNamespace("BAD NS").setKey("c"))).build());
        Applied a = m.apply(2, List.of(
                cas("app", "a", "0", "x"),                                        // mismatch
                cas("app", "new", "1", "x"),                                      // key absent
                badBatch,                                                         // one bad mutation
                put("snapshots", "s", "x"),                                       // reserved namespace
                put("app", "", "x"),                                              // empty key
                put("app", "big", "x".repeat(64 * 1024 + 1)),                     // oversized
                new Tx("junk", StateMachine.STATE_TX, new byte[] {(byte) 0xff}), // not a StateTransaction
                tx(StateTransaction.getDefaultInstance())));                      // no operation
        assertThat(a.outcomes()).allSatisfy(o -> assertThat(o.applied()).isFalse());
        assertThat(a.outcomes()).extracting(StateMachine.Outcome::failure).containsExactly(
                "compare_and_set: the current value's SHA-256 is " + Sha256.hexOf("1".getBytes()) + ", not the expected "
                        + Sha256.hexOf("0".getBytes()),
                "compare_and_set: the current value's SHA-256 is none (no key), not the expected "
                        + Sha256.hexOf("1".getBytes()),
                "batch.mutations[1].namespace: [a-z0-9._-]{1,64}, not 'BAD NS'",
                "namespace: 'snapshots' is written only by its own operation",
                "key: 1 to 1024 bytes, not 0",
                "value: at most 65536 bytes, not 65537",
                "payload: not a StateTransaction",
                "operation: not set");
        assertThat(m.root()).isEqualTo(before);
        assertThat(m.value(m.root(), "app", "b")).as("nothing of the failed batch").isNull();
    }

    @Test
    void transactionsOfOneBlockSeeEachOtherAndEveryHeightStaysProvable() {
        StateMachine m = fresh();
        Applied h1 = m.apply(1, List.of(put("app", "a", "1"), cas("app", "a", "1", "2"), cas("app", "n", null, "3")));
        assertThat(h1.outcomes()).allSatisfy(o -> assertThat(o.applied()).isTrue());
        Applied h2 = m.apply(2, List.of(delete("app", "a"),
                tx(StateTransaction.newBuilder().setRegisterSnapshot(StateTransaction.RegisterSnapshot.newBuilder()
                        .setSnapshotId("snap-1").setName("photos").setContentRoot("ab".repeat(32))).build()),
                tx(StateTransaction.newBuilder().setSetValidatorStake(StateTransaction.SetValidatorStake.newBuilder()
                        .setCellId("cell-9").setPublicKey(ByteString.copyFrom(new byte[32])).setStake(10)).build())));
        assertThat(h2.outcomes()).allSatisfy(o -> assertThat(o.applied()).as(o.failure()).isTrue());
        Applied h3 = m.apply(3, List.of(tx(StateTransaction.newBuilder().setSetValidatorStake(
                StateTransaction.SetValidatorStake.newBuilder().setCellId("cell-9").setStake(0)).build())));

        assertThat(text(m.value(h1.root(), "app", "a"))).isEqualTo("2");
        assertThat(text(m.value(h1.root(), "app", "n"))).isEqualTo("3");
        assertThat(m.value(h2.root(), "app", "a")).isNull();
        assertThat(m.value(h2.root(), "snapshots", "snap-1")).isNotNull();
        assertThat(m.value(h2.root(), "validators", "cell-9")).isNotNull();
        assertThat(m.value(h3.root(), "validators", "cell-9")).as("stake 0 removes the validator").isNull();

        SparseMerkle.Proof was = m.prove(h1.root(), "app", "a");
        byte[] path = SparseMerkle.path("app", "a".getBytes());
        assertThat(SparseMerkle.verify(h1.root(), path, was)).isTrue();
        assertThat(was.valueHash()).isEqualTo(SparseMerkle.valueHash("2".getBytes()));
        SparseMerkle.Proof gone = m.prove(h2.root(), "app", "a");
        assertThat(gone.exists()).isFalse();
        assertThat(SparseMerkle.verify(h2.root(), path, gone)).isTrue();
        assertThat(SparseMerkle.verify(h1.root(), path, gone)).isFalse();
    }
}
