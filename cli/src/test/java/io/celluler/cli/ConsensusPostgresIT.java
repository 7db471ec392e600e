package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link ConsensusCellIT} scenario again with the ledger in a real PostgreSQL (profile {@code postgres}): the
 * Flyway migration runs there; blocks, finality proofs, the transaction index and the safety state are written and
 * read back there, bad input leaves it untouched, and a restart goes on from it. Each test gets a schema of its own.
 *
 * <p>Needs {@code CELLULER_TEST_POSTGRES_URL} (a JDBC URL, e.g.
 * {@code jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres}); {@code scripts/test.sh} sets it after making
 * sure PostgreSQL runs.
 */
class ConsensusPostgresIT extends ConsensusCellIT {

    private final String schema = "consensus_it_" + Long.toHexString(System.nanoTime());

    static String postgresUrl() {
        String url = System.getenv("CELLULER_TEST_POSTGRES_URL");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("CELLULER_TEST_POSTGRES_URL is not set. Run the tests with scripts/test.sh "
                    + "(it starts PostgreSQL and Redis), or start PostgreSQL yourself and export e.g. "
                    + "CELLULER_TEST_POSTGRES_URL='jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres'");
        }
        return url;
    }

    @Override
    protected List<String> extraArgs() {
        String url = postgresUrl();
        // (network-service has no database: these reach consensus-service only)
        return List.of(
                "--spring.profiles.active=postgres",
                "--spring.datasource.url=" + url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema,
                "--spring.flyway.schemas=" + schema,
                "--spring.flyway.create-schemas=true");
    }

    @AfterEach
    void dropSchema() throws Exception {
        stop();
        try (Connection c = DriverManager.getConnection(postgresUrl()); Statement s = c.createStatement()) {
            try (ResultSet blocks = s.executeQuery("SELECT count(*) FROM " + schema + ".consensus_block")) {
                blocks.next();
                assertThat(blocks.getLong(1)).as("committed blocks in PostgreSQL (not in an embedded database)").isPositive();
            } finally {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }
}
