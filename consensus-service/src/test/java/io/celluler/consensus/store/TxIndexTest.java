package io.celluler.consensus.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.zaxxer.hikari.HikariDataSource;
import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Tx;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The log-structured transaction index on a real H2 file database with the service's Flyway migrations: small
 * memtables and a fan-out of 4, so that a few thousand transactions make runs of three levels.
 */
class TxIndexTest {

    @TempDir
    Path dir;

    JdbcTemplate jdbc;
    TransactionTemplate tx;
    final Random random = new Random(7);
    /** Every indexed id with its first place. */
    final Map<String, TxIndex.Location> expected = new LinkedHashMap<>();
    long height;

    HikariDataSource ds;

    @BeforeEach
    void database() {
        ds = new HikariDataSource();
        ds.setJdbcUrl("jdbc:h2:file:" + dir.resolve("ledger") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;WRITE_DELAY=0");
        ds.setUsername("sa");
        ds.setMaximumPoolSize(4);
        Flyway.configure().dataSource(ds).locations("classpath:db/migration/consensus-service").load().migrate();
        jdbc = new JdbcTemplate(ds);
        tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
    }

    @AfterEach
    void closeDatabase() {
        ds.close();
    }

    TxIndex index() {
        return new TxIndex(jdbc, tx, 100, 50, 4);
    }

    /** {@code count} blocks of 0 to 40 fresh transactions each. */
    List<Block> blocks(int count) {
        List<Block> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            height++;
            List<Tx> txs = new ArrayList<>();
            int n = random.nextInt(41);
            for (int i = 0; i < n; i++) {
                Tx t = new Tx(randomId(), new byte[] {1});
                txs.add(t);
                expected.putIfAbsent(t.id(), new TxIndex.Location(height, i));
            }
            out.add(block(height, txs));
        }
        return out;
    }

    static Block block(long height, List<Tx> txs) {
        return new Block("b" + height, height, height, "b" + (height - 1), null, "v", txs, "", "", 0);
    }

    String randomId() {
        byte[] id = new byte[32];
        random.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    void assertAllFound(TxIndex index) {
        expected.forEach((id, at) -> assertThat(index.find(id)).as(id).contains(at));
        for (int i = 0; i < 500; i++) {
            assertThat(index.contains(randomId())).isFalse();
        }
    }

    @Test
    void everyTransactionIsFoundAtItsPlaceWhileRunsAreWrittenAndMerged() throws Exception {
        try (TxIndex index = index()) {
            assertThat(index.open()).isZero();
            for (int round = 0; round < 10; round++) {
                index.add(blocks(60));
                // found at once (memtables), whatever the writer and the merger are doing
                assertAllFound(index);
            }
            assertThat(index.quiesce(30_000)).isTrue();
            assertAllFound(index);
            assertThat(index.shape()).contains("2=").doesNotContain("0=4").doesNotContain("1=4");
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM consensus_tx_run WHERE level >= 1", Integer.class)).isPositive();
        }
    }

    @Test
    void aTransactionOrderedTwiceIsFoundWhereItWasCommittedFirst() throws Exception {
        try (TxIndex index = index()) {
            index.open();
            List<Block> first = blocks(30);
            index.add(first);
            Block early = first.stream().filter(b -> !b.txs().isEmpty()).findFirst().orElseThrow();
            Tx twice = early.txs().get(0);
            index.add(blocks(200));
            // a faulty leader orders it again, far later: in another run and another memtable
            height++;
            index.add(List.of(block(height, List.of(new Tx(randomId(), new byte[] {1}), twice))));
            assertThat(index.find(twice.id())).contains(new TxIndex.Location(early.height(), 0));
            assertThat(index.quiesce(30_000)).isTrue();
            index.add(blocks(120)); // the duplicate's memtable is written and merged too
            assertThat(index.quiesce(30_000)).isTrue();
            assertThat(index.find(twice.id())).contains(new TxIndex.Location(early.height(), 0));
        }
    }

    @Test
    void afterACrashTheBlocksAboveTheWrittenRunsAreIndexedAgain() throws Exception {
        List<Block> all = new ArrayList<>();
        TxIndex crashed = index();
        crashed.open();
        all.addAll(blocks(300));
        crashed.add(all);
        assertThat(crashed.quiesce(30_000)).isTrue();
        height++;
        Block last = block(height, List.of(new Tx(randomId(), new byte[] {1})));
        expected.put(last.txs().get(0).id(), new TxIndex.Location(height, 0));
        all.add(last);
        crashed.add(List.of(last)); // in the memtable: lost with the process
        crashed.close();

        try (TxIndex reopened = index()) {
            long covered = reopened.open();
            assertThat(covered).isLessThan(height);
            for (Block b : all) {
                for (Tx t : b.txs()) {
                    assertThat(reopened.contains(t.id())).as("height %d, covered %d", b.height(), covered)
                            .isEqualTo(b.height() <= covered);
                }
            }
            // what Ledger.openIndex does: the blocks above the covered heights, again
            reopened.add(all.stream().filter(b -> b.height() > covered).toList());
            assertAllFound(reopened);
        }
    }

    @Test
    void whatAMergeLeftBehindIsRemovedOnOpen() throws Exception {
        List<Block> all = blocks(400);
        try (TxIndex index = index()) {
            index.open();
            index.add(all);
            assertThat(index.quiesce(30_000)).isTrue();
        }
        // a crash after a merged run was written but before its inputs were deleted: copy one run as if it were an
        // input still present (same heights, lower level), and leave pages of a run that never got its row
        long merged = jdbc.queryForObject("SELECT MAX(run_id) FROM consensus_tx_run WHERE level >= 1", Long.class);
        jdbc.update("INSERT INTO consensus_tx_run (run_id, level, from_height, to_height, entries, bloom, fences) "
                + "SELECT 1000, 0, from_height, from_height, 0, bloom, fences FROM consensus_tx_run WHERE run_id = ?", merged);
        jdbc.update("INSERT INTO consensus_tx_run_page (run_id, page_no, data) VALUES (2000, 0, ?)", (Object) new byte[44]);
        int runs = jdbc.queryForObject("SELECT COUNT(*) FROM consensus_tx_run", Integer.class);

        try (TxIndex reopened = index()) {
            long covered = reopened.open();
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM consensus_tx_run", Integer.class)).isEqualTo(runs - 1);
            reopened.add(all.stream().filter(b -> b.height() > covered).toList());
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM consensus_tx_run_page WHERE run_id IN (1000, 2000)",
                    Integer.class)).isZero();
            assertAllFound(reopened);
        }
    }

    @Test
    void theBloomFilterHasNoFalseNegativesAndFewFalsePositives() {
        TxIndex.Bloom bloom = TxIndex.Bloom.forEntries(10_000);
        List<byte[]> in = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            byte[] id = HexFormat.of().parseHex(randomId());
            in.add(id);
            bloom.add(id);
        }
        TxIndex.Bloom decoded = TxIndex.Bloom.decode(bloom.encode());
        assertThat(in).allMatch(decoded::mightContain);
        int falsePositives = 0;
        for (int i = 0; i < 100_000; i++) {
            if (decoded.mightContain(HexFormat.of().parseHex(randomId()))) {
                falsePositives++;
            }
        }
        assertThat(falsePositives).isLessThan(1_500); // ~0.5 % expected with 11 bits and 7 probes
    }
}
