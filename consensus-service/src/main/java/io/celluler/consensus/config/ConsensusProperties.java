package io.celluler.consensus.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * consensus-service settings ({@code celluler.consensus.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 */
@Validated
@ConfigurationProperties("celluler.consensus")
public record ConsensusProperties(@NotNull Path dataDir) implements ServiceDataDir {
}
