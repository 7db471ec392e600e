package io.celluler.network.config;

import java.nio.file.Path;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * network-service settings ({@code celluler.network.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 * @param p2pPort port of the cell-to-cell listener (mutual TLS, signed envelopes); opened by the network-service issue
 */
@Validated
@ConfigurationProperties("celluler.network")
public record NetworkProperties(@NotNull Path dataDir, @Min(1) @Max(65535) int p2pPort) implements ServiceDataDir {
}
