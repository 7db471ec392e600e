package io.celluler.data.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * data-service settings ({@code celluler.data.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 */
@Validated
@ConfigurationProperties("celluler.data")
public record DataProperties(@NotNull Path dataDir) implements ServiceDataDir {
}
