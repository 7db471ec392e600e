package io.celluler.state.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * state-service settings ({@code celluler.state.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 */
@Validated
@ConfigurationProperties("celluler.state")
public record StateProperties(@NotNull Path dataDir) implements ServiceDataDir {
}
