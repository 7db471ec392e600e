package io.celluler.consensus.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Messages.QC;
import io.celluler.consensus.engine.Messages.SyncRequest;
import io.celluler.consensus.engine.Messages.SyncResponse;
import org.junit.jupiter.api.Test;

/**
 * The committed blocks a validator keeps in memory (to answer others' block sync) are bounded by count and by
 * bytes: full blocks are large, and before the byte bound a benchmark's four validators held 1.8 GB of them.
 */
class CommittedMemoryTest {

    static final Validators VALIDATORS = new Validators("mem", Map.of("a", 1L, "b", 1L, "c", 1L, "d", 1L));

    @Test
    void oldBlocksBeyondTheByteBudgetAreForgottenAndTheRecentOnesServed() {
        // ten committed blocks of ~10 KB each; the budget holds three of them
        List<Block> chain = chain(10, 10, 1_000);
        long blockBytes = chain.get(10).bytes();
        ConsensusConfig cfg = new ConsensusConfig(100, 400, 30, 2000, 1 << 20, 100_000, 4, 256, 3 * blockBytes);
        ConsensusEngine engine = new ConsensusEngine(cfg, VALIDATORS, "a", new FakeCrypto.Keys(1).of("a"),
                SafetyState.INITIAL, chain, List.of());

        engine.receive("b", new SyncRequest(chain.get(5).id()));
        assertThat(engine.ready().messages()).as("block 5 is past the budget: not answered from memory").isEmpty();

        engine.receive("b", new SyncRequest(chain.get(10).id()));
        List<Block> served = ((SyncResponse) engine.ready().messages().getFirst().message()).blocks();
        assertThat(served).extracting(Block::height).containsExactly(8L, 9L, 10L);
    }

    @Test
    void theCommittedTipIsKeptWhateverItsSize() {
        List<Block> chain = chain(3, 50, 1_000);
        ConsensusConfig cfg = new ConsensusConfig(100, 400, 30, 2000, 1 << 20, 100_000, 4, 256, 1);
        ConsensusEngine engine = new ConsensusEngine(cfg, VALIDATORS, "a", new FakeCrypto.Keys(1).of("a"),
                SafetyState.INITIAL, chain, List.of());

        engine.receive("b", new SyncRequest(chain.get(3).id()));
        List<Block> served = ((SyncResponse) engine.ready().messages().getFirst().message()).blocks();
        assertThat(served).extracting(Block::height).containsExactly(3L);
        assertThat(engine.committedHeight()).isEqualTo(3);
    }

    /** Genesis and {@code n} blocks, each with {@code txs} transactions of {@code size} bytes. */
    static List<Block> chain(int n, int txs, int size) {
        List<Block> out = new ArrayList<>();
        Block parent = Block.genesis(VALIDATORS);
        out.add(parent);
        for (int h = 1; h <= n; h++) {
            List<Tx> batch = new ArrayList<>();
            for (int i = 0; i < txs; i++) {
                byte[] data = new byte[size];
                data[0] = (byte) h;
                data[1] = (byte) i;
                batch.add(Tx.of(data));
            }
            QC justify = new QC(parent.round(), parent.id(), parent.height(), Collections.emptySortedMap());
            Block b = Block.create(VALIDATORS, h, h, justify, List.of("a", "b", "c", "d").get(h % 4), batch, 0);
            out.add(b);
            parent = b;
        }
        return out;
    }
}
