package io.celluler.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import com.google.protobuf.ByteString;
import io.celluler.core.smt.SparseMerkle;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * state-service's state machine in this JVM (stores in memory, no service): blocks of {@code --block} put
 * transactions (128-byte values on random keys of {@code --keys}) applied one after the other, each ending with the
 * new state root of the sparse Merkle tree; then proofs of random keys made and checked.
 */
@Command(name = "state-engine", mixinStandardHelpOptions = true,
        description = "state-service engine: state application tx/s and proof make/check times.")
public class StateEngineBench implements Callable<Integer> {

    @Option(names = "--keys", defaultValue = "1000000")
    int keys;

    @Option(names = "--block", defaultValue = "1000")
    int block;

    @Option(names = "--blocks", defaultValue = "600")
    int blocks;

    @Override
    public Integer call() {
        StateMachine m = new StateMachine(new SparseMerkleTree(new SparseMerkleTree.MemoryStore()),
                new StateMachine.MemoryValues(), 0, SparseMerkleTree.emptyRoot());
        Random r = new Random(3);
        byte[] value = new byte[128];
        long height = 0;
        long t0 = 0;
        int measured = 0;
        for (int b = 0; b < blocks; b++) {
            List<StateMachine.Tx> txs = new ArrayList<>(block);
            for (int i = 0; i < block; i++) {
                r.nextBytes(value);
                txs.add(new StateMachine.Tx("t" + b + "-" + i, StateMachine.STATE_TX, StateTransaction.newBuilder()
                        .setPutValue(Mutation.newBuilder().setNamespace("bench").setKey("k" + r.nextInt(keys))
                                .setValue(ByteString.copyFrom(value))).build().toByteArray()));
            }
            if (b == blocks / 3) {
                t0 = System.nanoTime(); // the first third warms up and fills the tree
            }
            m.apply(++height, txs);
            if (b >= blocks / 3) {
                measured += block;
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("STATE engine apply: %d tx in blocks of %d on up to %d keys: %.0f tx/s (%.2f ms a block)%n",
                measured, block, keys, measured / s, s * 1000 / (measured / (double) block));
        byte[] root = m.root();
        int n = 20_000;
        long make = 0;
        long check = 0;
        int depth = 0;
        for (int i = 0; i < n; i++) {
            String key = "k" + r.nextInt(keys);
            long a = System.nanoTime();
            SparseMerkle.Proof p = m.prove(root, "bench", key);
            long c = System.nanoTime();
            if (!SparseMerkle.verify(root, SparseMerkle.path("bench", key.getBytes()), p)) {
                throw new IllegalStateException("a proof did not verify");
            }
            check += System.nanoTime() - c;
            make += c - a;
            depth += p.depth();
        }
        System.out.printf("STATE engine proofs: %d made %.1f us, checked %.1f us each (depth %.1f)%n", n,
                make / 1e3 / n, check / 1e3 / n, depth / (double) n);
        return 0;
    }
}
