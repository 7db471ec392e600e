package io.celluler.state.grpc;

import java.util.List;

import io.celluler.core.test.TestPostgres;
import org.junit.jupiter.api.AfterEach;

/**
 * Every {@link StateGrpcIT} scenario again with the state in a real PostgreSQL (profile {@code postgres}): the
 * Flyway migration runs there and a restart keeps everything. Needs {@code CELLULER_TEST_POSTGRES_URL}
 * ({@link TestPostgres}).
 */
class StatePostgresIT extends StateGrpcIT {

    private final String schema = "state_it_" + Long.toHexString(System.nanoTime());

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
