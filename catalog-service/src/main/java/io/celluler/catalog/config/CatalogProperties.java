package io.celluler.catalog.config;

import java.nio.file.Path;
import java.time.Duration;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * catalog-service settings ({@code celluler.catalog.*}), validated at start-up: a bad value stops the service with
 * a message naming the key.
 *
 * @param dataDir          where this service keeps its state (created at start-up)
 * @param maxBatch         local and remote changes written in one transaction at most (group commit)
 * @param changeRetention  changes kept for WatchEntries cursors; an older cursor answers OUT_OF_RANGE
 * @param maxLogChanges    this cell's changes kept for cells that have not acknowledged them; beyond, the oldest
 *                         go and such a cell catches up by anti-entropy
 * @param maxClockDriftMs  how far ahead of this cell's clock another cell's reading may be and still be followed
 * @param replication      gossip and anti-entropy with other cells
 */
@Validated
@ConfigurationProperties("celluler.catalog")
public record CatalogProperties(@NotNull Path dataDir, @Min(1) @Max(10_000) int maxBatch,
        @Min(1_000) int changeRetention, @Min(100) int maxLogChanges, @Min(0) long maxClockDriftMs,
        @NotNull @Valid Replication replication) implements ServiceDataDir {

    /**
     * @param networkAddress     host:port of this cell's network-service (gRPC); blank: this cell works alone
     * @param gossipInterval     time between pushes of new changes to every peer
     * @param antiEntropyInterval time between anti-entropy rounds (each with one peer, in turn)
     * @param callTimeout        how long one request to another cell may take
     * @param gossipBatch        changes in one gossip message at most
     * @param handlerThreads     threads answering other cells
     */
    public record Replication(String networkAddress, @NotNull Duration gossipInterval,
            @NotNull Duration antiEntropyInterval, @NotNull Duration callTimeout, @Min(1) @Max(4096) int gossipBatch,
            @Min(1) int handlerThreads) {

        public boolean networked() {
            return networkAddress != null && !networkAddress.isBlank();
        }
    }
}
