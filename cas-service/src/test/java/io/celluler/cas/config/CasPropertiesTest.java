package io.celluler.cas.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.celluler.cas.chunk.FastCdc;
import io.celluler.cas.chunk.FixedSize;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/** Bad configuration stops cas-service at start-up with a message naming the key. */
class CasPropertiesTest {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(CasProperties.class)
    static class Props {
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(Props.class)
            .withPropertyValues("celluler.cas.store-dir=/tmp/x", "celluler.cas.max-object-size=1MB",
                    "celluler.cas.read-chunk-size=64KB", "celluler.cas.chunking.mode=fastcdc",
                    "celluler.cas.chunking.min-size=16KB", "celluler.cas.chunking.avg-size=64KB",
                    "celluler.cas.chunking.max-size=256KB", "celluler.cas.chunking.fixed-size=64MB",
                    "celluler.cas.ingest-pending-size=32MB", "celluler.cas.io-threads=4", "celluler.cas.gc.enabled=true",
                    "celluler.cas.gc.interval=60s", "celluler.cas.gc.grace=1h", "celluler.cas.gc.batch=100",
                    "celluler.cas.gc.folders-per-pass=16", "celluler.cas.s3.enabled=true", "celluler.cas.s3.region=us-east-1",
                    "celluler.cas.s3.keys[0].access-key-id=k", "celluler.cas.s3.keys[0].secret-access-key=s",
                    "celluler.cas.s3.keys[0].tenant=t", "celluler.cas.replication.default-factor=1",
                    "celluler.cas.replication.max-factor=7", "celluler.cas.replication.interval=30s",
                    "celluler.cas.replication.scrub-batch=100", "celluler.cas.replication.verify-per-pass=1MB",
                    "celluler.cas.replication.placement-batch=10", "celluler.cas.replication.call-timeout=10s",
                    "celluler.cas.replication.handler-threads=2", "celluler.cas.replication.hold-recheck-after=1h", "celluler.cas.lifecycle.interval=1h", "celluler.cas.lifecycle.batch=10");

    @Test
    void validValuesBind() {
        runner.run(ctx -> {
            CasProperties p = ctx.getBean(CasProperties.class);
            assertThat(p.maxObjectSize().toBytes()).isEqualTo(1024 * 1024);
            assertThat(p.chunking().boundaries()).isInstanceOf(FastCdc.class);
            assertThat(p.replication().networked()).as("no network-service address").isFalse();
        });
        runner.withPropertyValues("celluler.cas.chunking.mode=fixed").run(ctx ->
                assertThat(ctx.getBean(CasProperties.class).chunking().boundaries()).isEqualTo(new FixedSize(64 << 20)));
    }

    @Test
    void aZeroMaximumIsRefused() {
        runner.withPropertyValues("celluler.cas.max-object-size=0B").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.max-object-size must be at least 1 byte"));
    }

    @Test
    void aReadChunkAboveTheGrpcLimitIsRefused() {
        runner.withPropertyValues("celluler.cas.read-chunk-size=8MB").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.read-chunk-size must be between 1 byte and 2MB"));
    }

    @Test
    void aDefaultReplicationFactorAboveTheMaximumIsRefused() {
        runner.withPropertyValues("celluler.cas.replication.default-factor=9").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.replication.default-factor (9) must not exceed max-factor (7)"));
    }

    @Test
    void inconsistentChunkSizesAreRefusedWithTheRule() {
        runner.withPropertyValues("celluler.cas.chunking.avg-size=60KB").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.chunking: the average chunk size must be a power of two"));
        runner.withPropertyValues("celluler.cas.chunking.min-size=512KB").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("min <= avg <= max"));
    }
}
