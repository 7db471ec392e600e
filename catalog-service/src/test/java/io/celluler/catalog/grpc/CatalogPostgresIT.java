package io.celluler.catalog.grpc;

import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link CatalogGrpcIT} scenario again with the replica in a real PostgreSQL (profile {@code postgres}): the
 * Flyway migration runs there and a restart keeps everything. Needs {@code CELLULER_TEST_POSTGRES_URL}
 * ({@link TestPostgres}).
 */
class CatalogPostgresIT extends CatalogGrpcIT {

    private final String schema = "catalog_it_" + Long.toHexString(System.nanoTime());

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
