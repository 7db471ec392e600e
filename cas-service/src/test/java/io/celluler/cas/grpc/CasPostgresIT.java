package io.celluler.cas.grpc;

import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link CasGrpcIT} scenario again, with the metadata in a real PostgreSQL (profile {@code postgres}):
 * the Flyway migrations run there, and a blob survives a restart. Each test gets a schema of its own.
 *
 * <p>Needs {@code CELLULER_TEST_POSTGRES_URL} ({@link TestPostgres}).
 */
class CasPostgresIT extends CasGrpcIT {

    private final String schema = "cas_it_" + Long.toHexString(System.nanoTime());

    @Override
    protected List<String> extraArgs() {
        return TestPostgres.serviceArgs(schema);
    }

    @AfterEach
    void dropSchema() throws Exception {
        stop();
        TestPostgres.dropSchema(schema);
    }
}
