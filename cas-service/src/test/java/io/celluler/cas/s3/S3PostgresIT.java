package io.celluler.cas.s3;

import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link S3ApiIT} scenario again with the metadata in a real PostgreSQL (profile {@code postgres}): the
 * migrations, and listings in UTF-8 byte order whatever the database's collation. Each test gets its own schema.
 *
 * <p>Needs {@code CELLULER_TEST_POSTGRES_URL} ({@link TestPostgres}).
 */
class S3PostgresIT extends S3ApiIT {

    private final String schema = "s3_it_" + Long.toHexString(System.nanoTime());

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
