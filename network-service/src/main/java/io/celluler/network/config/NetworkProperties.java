package io.celluler.network.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.celluler.core.boot.ServiceDataDir;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * network-service settings ({@code celluler.network.*}), validated at start-up: a bad value stops the service with a
 * message naming the key.
 *
 * @param dataDir      where this service keeps its state (created at start-up); the cell's key is in
 *                     {@code <dataDir>/identity/cell.key}, readable by its owner only
 * @param p2pHost      address the cell-to-cell listener binds to and advertises
 * @param p2pPort      port of the cell-to-cell listener (mutual TLS 1.3 with cell certificates); 0 picks a free
 *                     port (tests)
 * @param maxEnvelopeBytes largest message the P2P listener accepts (an envelope with its 1 MiB payload)
 * @param maxPayloadBytes  largest payload of an envelope
 * @param replayWindow     how far an envelope's or hello's timestamp may be from this cell's clock
 * @param nonceCacheCapacity nonces remembered for replay protection (when full, the window shrinks; see
 *                         {@code EnvelopeVerifier})
 * @param blacklistThreshold rejected envelopes from one peer within {@code blacklistWindow} that get it banned
 * @param blacklistWindow  see {@code blacklistThreshold}
 * @param blacklistBan     how long a banned peer stays blacklisted
 * @param capabilities the services this cell runs and the proto packages each serves, advertised to other
 *                     cells (the all-in-one cell runs all nine)
 */
@Validated
@ConfigurationProperties("celluler.network")
public record NetworkProperties(@NotNull Path dataDir, @NotEmpty String p2pHost, @Min(0) @Max(65535) int p2pPort,
        @Min(1024) int maxEnvelopeBytes, @Min(1) int maxPayloadBytes, @NotNull Duration replayWindow,
        @Min(1) int nonceCacheCapacity, @Min(1) int blacklistThreshold, @NotNull Duration blacklistWindow,
        @NotNull Duration blacklistBan,
        @NotEmpty Map<String, List<String>> capabilities) implements ServiceDataDir {
}
