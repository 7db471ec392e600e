package io.celluler.cas.config;

import static org.assertj.core.api.Assertions.assertThat;

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
            .withPropertyValues("celluler.cas.blob-dir=/tmp/x", "celluler.cas.max-blob-size=1MB",
                    "celluler.cas.read-chunk-size=64KB");

    @Test
    void validValuesBind() {
        runner.run(ctx -> assertThat(ctx.getBean(CasProperties.class).maxBlobSize().toBytes()).isEqualTo(1024 * 1024));
    }

    @Test
    void aZeroMaximumIsRefused() {
        runner.withPropertyValues("celluler.cas.max-blob-size=0B").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.max-blob-size must be at least 1 byte"));
    }

    @Test
    void aReadChunkAboveTheGrpcLimitIsRefused() {
        runner.withPropertyValues("celluler.cas.read-chunk-size=8MB").run(ctx -> assertThat(ctx.getStartupFailure())
                .hasStackTraceContaining("celluler.cas.read-chunk-size must be between 1 byte and 2MB"));
    }
}
