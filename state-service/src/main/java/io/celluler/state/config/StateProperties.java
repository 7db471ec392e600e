package io.celluler.state.config;

import java.nio.file.Path;
import java.time.Duration;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import io.celluler.core.boot.ServiceDataDir;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * state-service settings ({@code celluler.state.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir          where this service keeps its state (created at start-up)
 * @param consensusAddress host:port of this cell's consensus-service (gRPC), whose committed blocks the state
 *                         machine applies; blank: nothing is applied (reads answer the state as stored)
 * @param maxBatchBlocks   blocks applied and committed in one database transaction at most (group commit while
 *                         catching up; one block at a time when they come one by one)
 * @param nodeCacheEntries tree nodes kept in memory (they never change, so the cache needs no invalidation)
 * @param retryBackoffMax  longest wait before following consensus-service again after a failure (waits double from
 *                         100 ms up to this)
 * @param networkAddress   host:port of this cell's network-service (gRPC), through which cells compare state roots;
 *                         blank: this cell compares with no one
 * @param compareInterval  time between two comparisons of the latest applied height's root with every other cell's
 * @param callTimeout      how long one question to another cell may take
 * @param snapshotIntervalHeights a snapshot every this many applied heights (0: only on request)
 * @param snapshotRetain   snapshots kept (the newest)
 * @param snapshotCatchUpBlocks a state-service further behind consensus than this restores another cell's snapshot
 *                         instead of replaying every block (0: always replay)
 */
@Validated
@ConfigurationProperties("celluler.state")
public record StateProperties(@NotNull Path dataDir, String consensusAddress, @Min(1) @Max(4096) int maxBatchBlocks,
        @Min(1_000) long nodeCacheEntries, @NotNull Duration retryBackoffMax, String networkAddress,
        @NotNull Duration compareInterval, @NotNull Duration callTimeout, @Min(0) long snapshotIntervalHeights,
        @Min(1) @Max(100) int snapshotRetain, @Min(0) long snapshotCatchUpBlocks) implements ServiceDataDir {

    public boolean following() {
        return consensusAddress != null && !consensusAddress.isBlank();
    }

    public boolean networked() {
        return networkAddress != null && !networkAddress.isBlank();
    }
}
