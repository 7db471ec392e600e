package io.celluler.catalog.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * catalog-service settings ({@code celluler.catalog.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir where this service keeps its state (created at start-up)
 */
@Validated
@ConfigurationProperties("celluler.catalog")
public record CatalogProperties(@NotNull Path dataDir) implements ServiceDataDir {
}
