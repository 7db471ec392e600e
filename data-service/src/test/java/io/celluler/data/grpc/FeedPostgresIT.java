package io.celluler.data.grpc;

import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link FeedGrpcIT} scenario again with the feeds in a real PostgreSQL (profile {@code postgres}): the Flyway
 * migration runs there, appends lock the feed's row, and a restart keeps everything. Needs
 * {@code CELLULER_TEST_POSTGRES_URL} ({@link TestPostgres}).
 */
class FeedPostgresIT extends FeedGrpcIT {

    private final String schema = "data_it_" + Long.toHexString(System.nanoTime());

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
