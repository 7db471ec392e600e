package io.celluler.consensus.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.celluler.consensus.engine.ConsensusSimulator.Behaviour;
import io.celluler.consensus.engine.ConsensusSimulator.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 4, the engine in the deterministic simulator: 10 ms ticks, links of 10–30 ms, 1 % loss and duplication
 * unless a test says otherwise. Safety (one block per height across honest validators, only submitted
 * transactions, no double vote) is checked at every step by the simulator; each test checks liveness within a
 * stated bound once its faults stop, and prints a {@code SIM} line. {@code -Dsim.seed=N} replays a run.
 */
class ConsensusSimulationTest {

    static final ConsensusConfig CFG = ConsensusConfig.defaults();
    /** Liveness bound of the named scenarios after their faults stop: 30 s. */
    static final long LIVENESS_TICKS = 3_000;
    /**
     * Liveness bound of the random runs: 60 s. The worst case there is 7 validators with 2 silent and timers at
     * their 4 s cap after a long fault phase: every honest vote is needed, and a commit needs three honest leaders
     * in a row. 30,000 seeds (1000–30999) needed at most 29.1 s.
     */
    static final long RANDOM_LIVENESS_TICKS = 6_000;

    static long seed(long fallback) {
        return Long.getLong("sim.seed", fallback);
    }

    static ConsensusSimulator sim(long seed, int n) {
        ConsensusSimulator sim = new ConsensusSimulator(seed, n, CFG);
        sim.loss = 0.01;
        sim.duplication = 0.01;
        return sim;
    }

    /** Runs {@code ticks} with {@code txPerTick} client transactions per tick. */
    static void load(ConsensusSimulator sim, long ticks, int txPerTick) {
        for (long i = 0; i < ticks; i++) {
            for (int k = 0; k < txPerTick; k++) {
                sim.submitTx();
            }
            sim.step();
        }
    }

    /** Ticks until every honest validator that is up has committed {@code blocks} more blocks, or fails. */
    static long progress(ConsensusSimulator sim, int blocks) {
        return progress(sim, blocks, LIVENESS_TICKS);
    }

    static long progress(ConsensusSimulator sim, int blocks, long boundTicks) {
        Map<String, Long> from = new LinkedHashMap<>();
        sim.honest().forEach(n -> from.put(n.id, n.height()));
        long took = sim.runUntil(() -> sim.honest().stream().filter(n -> n.up)
                .allMatch(n -> n.height() >= Math.max(from.get(n.id), sim.maxHonestHeight() - blocks) + blocks),
                boundTicks);
        assertThat(took).as("%s: progress within %d ticks after the faults stopped", sim, boundTicks).isNotNegative();
        return took;
    }

    static void report(String name, ConsensusSimulator sim, String figures) {
        System.out.printf("SIM %s seed=%d validators=%d %s height=%d txs=%d sent=%d%n", name, sim.seed,
                sim.validators.size(), figures, sim.maxHonestHeight(), sim.committedTxs(), sim.messagesSent);
    }

    /**
     * Ledger-to-ledger catch-up, the engine's part: a validator that is far behind takes committed blocks (whose
     * finality proofs its driver checked) one after the other from its tip; a block that does not extend the tip,
     * or whose content does not match its id, is refused; the adopted blocks' transactions leave its pool.
     */
    @Test
    void aFarBehindValidatorAdoptsCommittedBlocksThatExtendItsTip() {
        ConsensusSimulator sim = new ConsensusSimulator(31, 4, CFG);
        for (int t = 0; t < 800; t++) {
            if (t % 4 == 0) {
                sim.submitTx();
            }
            sim.step();
        }
        Node source = sim.node(0);
        assertThat(source.ledger).hasSizeGreaterThan(20);
        ConsensusEngine behind = ConsensusEngine.genesis(CFG, sim.validators, "v3", sim.keys.of("v3"));
        Messages.Block first = source.ledger.get(0);
        Messages.Block withTxs = source.ledger.stream().filter(b -> !b.txs().isEmpty()).findFirst().orElseThrow();
        Tx pooled = withTxs.txs().get(0);
        assertThat(behind.submit(pooled)).isEqualTo(ConsensusEngine.Admission.ADMITTED);

        assertThat(behind.adoptCommitted(source.ledger.get(1))).as("a block above a gap").isFalse();
        Messages.Block forged = new Messages.Block(first.id(), first.round(), first.height(), first.parentId(),
                first.justify(), first.proposer(), List.of(Tx.of("not what was committed".getBytes())), first.txRoot(),
                first.validatorSetHash(), first.proposedAtMillis());
        assertThat(behind.adoptCommitted(forged)).as("content that does not match the id").isFalse();
        assertThat(behind.committedHeight()).isZero();

        for (Messages.Block b : source.ledger) {
            assertThat(behind.adoptCommitted(b)).as("height %d", b.height()).isTrue();
        }
        assertThat(behind.committedHeight()).isEqualTo(source.height());
        assertThat(behind.committedId()).isEqualTo(source.ledger.get(source.ledger.size() - 1).id());
        assertThat(behind.adoptCommitted(source.ledger.get(5))).as("an old block again").isFalse();
        assertThat(behind.pending(pooled.id())).as("a committed transaction leaves the pool").isFalse();
        assertThat(behind.ready().commits()).as("the driver stores adopted blocks itself").isEmpty();
    }

    @Test
    void fourValidatorsOrderEveryTransactionOnce() {
        ConsensusSimulator sim = sim(seed(1), 4);
        load(sim, 2_000, 2);
        sim.run(500);

        assertThat(sim.minHonestHeight()).isGreaterThan(20);
        // everything submitted in the first 1,500 ticks is committed, once
        assertThat(sim.committedTxs()).isEqualTo(sim.submitted.size());
        report("ordering", sim, "ticks=2500");
    }

    @Test
    void aCrashedLeaderDoesNotStopTheChain() {
        ConsensusSimulator sim = sim(seed(2), 4);
        load(sim, 500, 1);
        Node leader = sim.nodes.get(sim.node(0).engine.leader());
        sim.crash(leader);
        long took = progress(sim, 5);
        report("leader-crash", sim, "progress-after-crash=" + took * 10 + "ms");
    }

    @Test
    void aTwoTwoPartitionStallsSafelyAndHeals() {
        ConsensusSimulator sim = sim(seed(3), 4);
        load(sim, 500, 1);
        sim.partition(List.of(List.of(sim.node(0), sim.node(1)), List.of(sim.node(2), sim.node(3))));
        long before = sim.maxHonestHeight();
        load(sim, 2_000, 1);
        // no quorum on either side: at most what was already certified gets committed
        assertThat(sim.maxHonestHeight()).isLessThanOrEqualTo(before + 2);
        sim.heal();
        long took = progress(sim, 5);
        report("partition-2-2", sim, "healed-after=20s progress=" + took * 10 + "ms");
    }

    @Test
    void aValidatorIsolatedForThirtySecondsCatchesUpWithoutAStall() {
        ConsensusSimulator sim = sim(seed(4), 4);
        load(sim, 500, 1);
        Node alone = sim.node(3);
        sim.partition(List.of(List.of(sim.node(0), sim.node(1), sim.node(2)), List.of(alone)));
        long before = sim.maxHonestHeight();
        load(sim, 3_000, 1);
        assertThat(sim.maxHonestHeight()).as("the other three carry on").isGreaterThan(before + 10);
        sim.heal();
        long target = sim.maxHonestHeight();
        long caughtUp = sim.runUntil(() -> alone.height() >= target, LIVENESS_TICKS);
        assertThat(caughtUp).as("%s: the isolated validator catches up", sim).isNotNegative();
        long took = progress(sim, 5);
        report("isolated-30s", sim, "caught-up=" + caughtUp * 10 + "ms then-progress=" + took * 10 + "ms");
    }

    @Test
    void aRestartedValidatorResumesFromItsPersistedStateAndLostWrites() {
        ConsensusSimulator sim = sim(seed(5), 4);
        sim.ledgerSyncTicks = 50;
        load(sim, 700, 1);
        Node n = sim.node(1);
        sim.crash(n);
        load(sim, 500, 1);
        sim.restart(n);
        long target = sim.maxHonestHeight();
        long caughtUp = sim.runUntil(() -> n.height() >= target, LIVENESS_TICKS);
        assertThat(caughtUp).as("%s: the restarted validator catches up", sim).isNotNegative();
        progress(sim, 5);
        report("restart", sim, "caught-up=" + caughtUp * 10 + "ms");
    }

    @ParameterizedTest
    @EnumSource(value = Behaviour.class, names = "HONEST", mode = EnumSource.Mode.EXCLUDE)
    void oneByzantineValidatorOfFour(Behaviour behaviour) {
        ConsensusSimulator sim = sim(seed(6 + behaviour.ordinal()), 4);
        sim.node(2).behaviour = behaviour;
        load(sim, 2_000, 1);
        long took = progress(sim, 5);
        assertThat(sim.minHonestHeight()).isGreaterThan(5);
        report("byzantine-1-of-4-" + behaviour, sim, "then-progress=" + took * 10 + "ms");
    }

    @Test
    void twoByzantineValidatorsOfSeven() {
        ConsensusSimulator sim = sim(seed(20), 7);
        sim.node(1).behaviour = Behaviour.EQUIVOCATE;
        sim.node(4).behaviour = Behaviour.FORGE;
        load(sim, 2_000, 1);
        sim.node(4).behaviour = Behaviour.SILENT;
        load(sim, 1_000, 1);
        long took = progress(sim, 5);
        report("byzantine-2-of-7", sim, "then-progress=" + took * 10 + "ms");
    }

    @Test
    void leadersAreDrawnByStakeAndAHeavyValidatorIsNotNeededAlone() {
        Map<String, Long> stakes = new LinkedHashMap<>();
        stakes.put("heavy", 300L);
        stakes.put("a", 100L);
        stakes.put("b", 100L);
        stakes.put("c", 100L);
        Validators v = new Validators("stake-test", stakes);
        int heavy = 0;
        for (long r = 1; r <= 10_000; r++) {
            if (v.leader(r).equals("heavy")) {
                heavy++;
            }
        }
        assertThat(heavy).as("leads in proportion to its stake (1/2)").isBetween(4_700, 5_300);
        assertThat(v.quorum()).isEqualTo(401);

        ConsensusSimulator sim = new ConsensusSimulator(seed(21), stakes, CFG);
        load(sim, 500, 1);
        sim.crash(sim.nodes.get("c")); // 500 of 600 left: still more than 2/3
        long took = progress(sim, 5);
        report("stake-weighted", sim, "heavy-leads=" + heavy / 100.0 + "% progress-after-crash=" + took * 10 + "ms");
    }

    /**
     * Random runs: 4 or 7 validators, up to f Byzantine of random kinds, 0–5 % loss and duplication, delays of
     * 10–50 ms, and for the first 10 s random partitions, crashes (losing unsynced ledger writes) and restarts —
     * more crashes than f too (safety must hold regardless). Then the faults stop (partitions heal, crashed
     * validators restart, no more loss; duplication, reordering and the Byzantine validators stay) and every honest
     * validator must commit new blocks within the liveness bound. CI runs 1,000 seeds; {@code -Dsim.seeds=100000} runs more,
     * {@code -Dsim.seed=N -Dsim.seeds=1} replays one.
     */
    @Test
    void randomFaultSchedulesKeepSafetyAndRecover() {
        long first = seed(1_000);
        int count = Integer.getInteger("sim.seeds", 1_000);
        long worst = 0;
        long worstSeed = first;
        long totalTicks = 0;
        long heights = 0;
        for (long seed = first; seed < first + count; seed++) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed * 7919);
            int n = r.nextBoolean() ? 4 : 7;
            int f = (n - 1) / 3;
            ConsensusSimulator sim = new ConsensusSimulator(seed, n, CFG);
            sim.loss = r.nextDouble() * 0.05;
            sim.duplication = r.nextDouble() * 0.05;
            sim.maxDelayTicks = 1 + r.nextInt(5);
            Behaviour[] kinds = {Behaviour.SILENT, Behaviour.EQUIVOCATE, Behaviour.FORGE, Behaviour.REPLAY, Behaviour.INVALID};
            int byzantine = r.nextInt(f + 1);
            for (int i = 0; i < byzantine; i++) {
                sim.node(n - 1 - i).behaviour = kinds[r.nextInt(kinds.length)];
            }
            for (int t = 0; t < 1_000; t++) {
                if (r.nextInt(200) == 0) {
                    List<Node> all = new java.util.ArrayList<>(sim.nodes.values());
                    java.util.Collections.shuffle(all, new java.util.Random(r.nextLong()));
                    int cut = 1 + r.nextInt(n - 1);
                    sim.partition(List.of(all.subList(0, cut), all.subList(cut, n)));
                } else if (r.nextInt(200) == 0) {
                    sim.heal();
                } else if (r.nextInt(150) == 0) {
                    Node victim = sim.node(r.nextInt(n));
                    if (victim.up) {
                        sim.crash(victim);
                    } else {
                        sim.restart(victim);
                    }
                }
                if (r.nextInt(2) == 0) {
                    sim.submitTx();
                }
                sim.step();
            }
            // the faults stop: partitions heal, crashed validators restart, messages are no longer lost (duplication,
            // reordering and the Byzantine validators stay)
            sim.heal();
            sim.loss = 0;
            for (Node node : sim.nodes.values()) {
                if (!node.up) {
                    sim.restart(node);
                }
            }
            if (Boolean.getBoolean("sim.debug")) {
                // a replay's diagnostics: every delivery for 4 s, then each validator's state every 2 s
                sim.trace = true;
                for (int t = 0; t < 3_000; t++) {
                    sim.trace = t < 400;
                    sim.step();
                    if (t % 200 == 0) {
                        System.out.println("STATE " + sim.describeState());
                    }
                }
            }
            long took = progress(sim, 3, RANDOM_LIVENESS_TICKS);
            if (took > worst) {
                worst = took;
                worstSeed = seed;
            }
            totalTicks += sim.now;
            heights += sim.maxHonestHeight();
        }
        System.out.printf("SIM random seeds=%d..%d runs=%d simulated=%.0fs committed-blocks=%d liveness-after-heal-max=%dms (seed %d)%n",
                first, first + count - 1, count, totalTicks / 100.0, heights, worst * 10, worstSeed);
    }
}
