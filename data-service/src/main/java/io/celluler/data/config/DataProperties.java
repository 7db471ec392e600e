package io.celluler.data.config;

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
 * data-service settings ({@code celluler.data.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir     where this service keeps its state (created at start-up)
 * @param replication following feeds of other cells
 */
@Validated
@ConfigurationProperties("celluler.data")
public record DataProperties(@NotNull Path dataDir, @NotNull @Valid Replication replication) implements ServiceDataDir {

    /**
     * @param networkAddress host:port of this cell's network-service (gRPC), through which cells ask each other for
     *                       feeds; blank: this cell works alone (FollowFeed answers FAILED_PRECONDITION)
     * @param interval       time between sync passes of the followed feeds (a live feed's new entries arrive
     *                       within about one interval)
     * @param callTimeout    how long one request to another cell may take
     * @param fetchBytes     entry bytes asked for per request (network-service carries at most 1 MiB a payload)
     * @param handlerThreads threads answering other cells' requests
     * @param reportFor      how long a cell that sent something that does not verify stays blacklisted
     */
    public record Replication(String networkAddress, @NotNull Duration interval, @NotNull Duration callTimeout,
            @Min(1024) @Max(900 * 1024) int fetchBytes, @Min(1) int handlerThreads, @NotNull Duration reportFor) {

        /** Whether this cell talks to others (a network-service address is set). */
        public boolean networked() {
            return networkAddress != null && !networkAddress.isBlank();
        }
    }
}
