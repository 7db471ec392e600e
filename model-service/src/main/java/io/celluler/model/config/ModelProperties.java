package io.celluler.model.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * model-service settings ({@code celluler.model.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 */
@Validated
@ConfigurationProperties("celluler.model")
public record ModelProperties(@NotNull Path dataDir) implements ServiceDataDir {
}
