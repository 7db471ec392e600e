package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import com.google.protobuf.ByteString;
import com.zaxxer.hikari.HikariDataSource;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import io.celluler.state.store.StateStore;
import io.celluler.state.store.TreeStore;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * state-service's durable application path in this JVM, as its applier runs it: blocks of {@code --block} put
 * transactions (128-byte values on random keys of {@code --keys}) applied over the stored tree and committed —
 * nodes, values, root, key changes, namespace sizes, transaction outcomes — {@code --group} blocks to a database
 * transaction, on the embedded H2 file or on PostgreSQL ({@code --postgres-url}, a fresh schema).
 */
@Command(name = "state-apply", mixinStandardHelpOptions = true,
        description = "state-service: durable state application tx/s (apply + commit) on H2 or PostgreSQL.")
public class StateApplyBench implements Callable<Integer> {

    @Option(names = "--keys", defaultValue = "100000")
    int keys;

    @Option(names = "--block", defaultValue = "1000")
    int block;

    @Option(names = "--blocks", defaultValue = "150")
    int blocks;

    @Option(names = "--group", defaultValue = "1", description = "blocks committed in one transaction")
    int group;

    @Option(names = "--node-cache", defaultValue = "200000", description = "tree nodes cached in memory")
    long nodeCache;

    @Option(names = "--postgres-url", description = "JDBC URL of a PostgreSQL server (default: an H2 file)")
    String postgresUrl;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-state-apply-bench");
        String schema = "state_bench_" + Long.toHexString(System.nanoTime());
        try (HikariDataSource ds = new HikariDataSource()) {
            if (postgresUrl != null) {
                ds.setJdbcUrl(postgresUrl + (postgresUrl.contains("?") ? "&" : "?") + "currentSchema=" + schema);
            } else {
                ds.setJdbcUrl("jdbc:h2:file:" + dir.resolve("state")
                        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;WRITE_DELAY=0");
                ds.setUsername("sa");
            }
            ds.setMaximumPoolSize(4);
            var flyway = Flyway.configure().dataSource(ds).locations("classpath:db/migration/state-service");
            (postgresUrl != null ? flyway.schemas(schema).createSchemas(true) : flyway).load().migrate();
            JdbcTemplate jdbc = new JdbcTemplate(ds);
            TreeStore trees = new TreeStore(jdbc, nodeCache);
            StateStore store = new StateStore(jdbc, new TransactionTemplate(new DataSourceTransactionManager(ds)));
            StateMachine m = new StateMachine(new SparseMerkleTree(trees), trees, 0, SparseMerkleTree.emptyRoot());
            Random r = new Random(5);
            byte[] value = new byte[128];
            List<Long> commitNanos = new ArrayList<>();
            long t0 = 0;
            long applyNanos = 0;
            int measured = 0;
            List<StateStore.AppliedHeight> pending = new ArrayList<>();
            for (int b = 0; b < blocks; b++) {
                List<StateMachine.Tx> txs = new ArrayList<>(block);
                for (int i = 0; i < block; i++) {
                    r.nextBytes(value);
                    txs.add(new StateMachine.Tx(String.format("%064x", (long) b * block + i), StateMachine.STATE_TX,
                            StateTransaction.newBuilder().setPutValue(Mutation.newBuilder().setNamespace("bench")
                                    .setKey("k" + r.nextInt(keys)).setValue(ByteString.copyFrom(value))).build()
                                    .toByteArray()));
                }
                if (b == blocks / 3) {
                    t0 = System.nanoTime(); // the first third warms up and fills the tree
                    applyNanos = 0;
                    commitNanos.clear();
                }
                long a = System.nanoTime();
                StateMachine.Applied applied = m.apply(b + 1, txs);
                applyNanos += System.nanoTime() - a;
                pending.add(new StateStore.AppliedHeight(new StateStore.HeightRow(applied.height(), applied.root(),
                        "b" + (b + 1), txs.size(), 0, Instant.now()), applied));
                if (pending.size() == group || b == blocks - 1) {
                    long c = System.nanoTime();
                    store.commit(pending, trees.pending());
                    trees.committed();
                    commitNanos.add(System.nanoTime() - c);
                    pending.clear();
                }
                if (b >= blocks / 3) {
                    measured += block;
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            long[] commits = commitNanos.stream().mapToLong(Long::longValue).sorted().toArray();
            System.out.printf("STATE apply durable (%s): %d tx in blocks of %d, %d a commit, up to %d keys: %.0f tx/s;"
                    + " apply %.1f ms a block, commit p50 %.1f ms p99 %.1f ms (node cache %d)%n",
                    postgresUrl != null ? "PostgreSQL" : "H2 file", measured, block, group, keys, measured / s,
                    applyNanos / 1e6 / (measured / (double) block), pct(commits, 0.50) / 1e6, pct(commits, 0.99) / 1e6, nodeCache);
            if (postgresUrl != null) {
                jdbc.execute("DROP SCHEMA " + schema + " CASCADE");
            }
        }
        return 0;
    }

    static long pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }
}
