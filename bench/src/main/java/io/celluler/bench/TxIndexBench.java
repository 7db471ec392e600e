package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import com.zaxxer.hikari.HikariDataSource;
import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Tx;
import io.celluler.consensus.store.TxIndex;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The consensus ledger's transaction index on the embedded H2 (a file, {@code WRITE_DELAY=0}, as the service runs
 * it), one writer: {@code btree} inserts (height, position, id) rows into a table with a B-tree index on the id,
 * one database transaction per block (the V1 schema); {@code runs} adds the same blocks to the log-structured
 * {@link TxIndex} and waits until every run is written and merged. Prints rows per second.
 */
@Command(name = "tx-index", mixinStandardHelpOptions = true,
        description = "Transaction index on H2: a B-tree over random ids against the log-structured runs.")
public class TxIndexBench implements Callable<Integer> {

    @Option(names = "--mode", defaultValue = "runs", description = "btree or runs")
    String mode;

    @Option(names = "--rows", defaultValue = "1000000")
    int rows;

    @Option(names = "--per-block", defaultValue = "300", description = "transactions per block (one commit each for btree)")
    int perBlock;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-tx-index-bench");
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;WRITE_DELAY=0";
        Random random = new Random(1);
        long t0 = System.nanoTime();
        if (mode.equals("btree")) {
            try (Connection c = DriverManager.getConnection(url, "sa", "")) {
                c.createStatement().execute("CREATE TABLE consensus_tx (height BIGINT, position INTEGER, tx_id VARCHAR(64), "
                        + "PRIMARY KEY (height, position))");
                c.createStatement().execute("CREATE INDEX consensus_tx_by_id ON consensus_tx (tx_id)");
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("INSERT INTO consensus_tx VALUES (?, ?, ?)");
                for (long h = 1, done = 0; done < rows; h++) {
                    for (int i = 0; i < perBlock; i++, done++) {
                        ps.setLong(1, h);
                        ps.setInt(2, i);
                        ps.setString(3, id(random));
                        ps.addBatch();
                    }
                    ps.executeBatch();
                    c.commit();
                }
            }
        } else {
            try (HikariDataSource ds = new HikariDataSource()) {
                ds.setJdbcUrl(url);
                ds.setUsername("sa");
                ds.setMaximumPoolSize(4);
                Flyway.configure().dataSource(ds).locations("classpath:db/migration/consensus-service").load().migrate();
                t0 = System.nanoTime();
                try (TxIndex index = new TxIndex(new JdbcTemplate(ds), new TransactionTemplate(new DataSourceTransactionManager(ds)))) {
                    index.open();
                    for (long h = 1, done = 0; done < rows; h++) {
                        List<Tx> txs = new ArrayList<>(perBlock);
                        for (int i = 0; i < perBlock; i++, done++) {
                            txs.add(new Tx(id(random), new byte[0]));
                        }
                        index.add(List.of(new Block("b" + h, h, h, "b" + (h - 1), null, "", txs, "", "", 0)));
                    }
                    if (!index.quiesce(600_000)) {
                        System.err.println("the index did not finish writing within 10 minutes");
                        return 1;
                    }
                    System.out.println("TX-INDEX runs: " + index.shape());
                }
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long bytes;
        try (var files = Files.list(dir)) {
            bytes = files.mapToLong(f -> f.toFile().length()).sum();
        }
        System.out.printf("TX-INDEX mode=%s rows=%d per-block=%d rows/s=%.0f file=%d MB%n", mode, rows, perBlock, rows / secs,
                bytes >> 20);
        return 0;
    }

    private static String id(Random random) {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
