package io.celluler.core.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.validation.annotation.Validated;

class DataDirPostProcessorTest {

    @Validated
    @ConfigurationProperties("celluler.sample")
    record SampleProperties(@NotNull Path dataDir) implements ServiceDataDir {
    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(SampleProperties.class)
    static class SampleService {
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CellulerServiceAutoConfiguration.class,
                    org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration.class))
            .withUserConfiguration(SampleService.class);

    @TempDir
    Path tmp;

    @Test
    void createsTheDataDirWhenThePropertiesAreBound() {
        Path dir = tmp.resolve("a/b/sample-service");

        runner.withPropertyValues("celluler.sample.data-dir=" + dir).run(ctx -> {
            assertThat(ctx).hasNotFailed();
            assertThat(Files.isDirectory(dir)).isTrue();
        });
    }

    @Test
    void aDataDirThatCannotBeCreatedStopsStartUpNamingTheKey() throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-folder"), "x");

        runner.withPropertyValues("celluler.sample.data-dir=" + file.resolve("sub")).run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("celluler.sample.data-dir: cannot create");
        });
    }

    @Test
    void aMissingDataDirFailsValidationNamingTheKey() {
        runner.run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).hasStackTraceContaining("celluler.sample")
                    .hasStackTraceContaining("dataDir");
        });
    }
}
