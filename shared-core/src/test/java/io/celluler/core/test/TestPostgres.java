package io.celluler.core.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The PostgreSQL of the integration tests: {@code CELLULER_TEST_POSTGRES_URL} (a JDBC URL, e.g.
 * {@code jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres}), which {@code scripts/test.sh} sets after making
 * sure PostgreSQL runs. Each test works in a schema of its own, made by Flyway and dropped afterwards.
 */
public final class TestPostgres {

    private TestPostgres() {
    }

    /** The server's JDBC URL; fails with what to do when it is not set. */
    public static String url() {
        String url = System.getenv("CELLULER_TEST_POSTGRES_URL");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("CELLULER_TEST_POSTGRES_URL is not set. Run the tests with scripts/test.sh "
                    + "(it starts PostgreSQL and Redis), or start PostgreSQL yourself and export e.g. "
                    + "CELLULER_TEST_POSTGRES_URL='jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres'");
        }
        return url;
    }

    /** Spring arguments that put a service's database (profile {@code postgres}) in {@code schema}, created by Flyway. */
    public static List<String> serviceArgs(String schema) {
        String url = url();
        return List.of(
                "--spring.profiles.active=postgres",
                "--spring.datasource.url=" + url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema,
                "--spring.flyway.schemas=" + schema,
                "--spring.flyway.create-schemas=true");
    }

    /** A connection to the server (for checks a test makes itself). */
    public static Connection connect() throws SQLException {
        return DriverManager.getConnection(url());
    }

    public static void dropSchema(String schema) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }
}
