package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link ConsensusCellIT} scenario again with the ledger in a real PostgreSQL (profile {@code postgres}): the
 * Flyway migration runs there; blocks, finality proofs, the transaction index and the safety state are written and
 * read back there, bad input leaves it untouched, and a restart goes on from it. Each test gets a schema of its own.
 *
 * <p>Needs {@code CELLULER_TEST_POSTGRES_URL} ({@link TestPostgres}).
 */
class ConsensusPostgresIT extends ConsensusCellIT {

    private final String schema = "consensus_it_" + Long.toHexString(System.nanoTime());

    @Override
    protected List<String> extraArgs() {
        // (network-service has no database: these reach consensus-service only)
        return TestPostgres.serviceArgs(schema);
    }

    @AfterEach
    void dropSchema() throws Exception {
        stop();
        try (Connection c = TestPostgres.connect(); Statement s = c.createStatement();
                ResultSet blocks = s.executeQuery("SELECT count(*) FROM " + schema + ".consensus_block")) {
            blocks.next();
            assertThat(blocks.getLong(1)).as("committed blocks in PostgreSQL (not in an embedded database)").isPositive();
        } finally {
            TestPostgres.dropSchema(schema);
        }
    }
}
