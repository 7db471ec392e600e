package io.celluler.network.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.celluler.core.boot.ServiceDataDir;
import jakarta.validation.Valid;
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
 * @param advertisedServices which of {@code capabilities} this cell runs; empty: all of them (a partial cell,
 *                     e.g. {@code celluler up --services network-service}, lists its own)
 * @param seeds        P2P addresses ({@code host:port}) of cells to join the network through; one is enough
 *                     (peer exchange teaches the rest); empty for the first cell of a network
 * @param deniedPeers  cell ids or P2P addresses this cell never links with, in either direction (a connection
 *                     gater: messages from them still arrive when other cells relay them)
 * @param links        link limits and timers
 * @param routing      queues, hop limits and retries of messages
 */
@Validated
@ConfigurationProperties("celluler.network")
public record NetworkProperties(@NotNull Path dataDir, @NotEmpty String p2pHost, @Min(0) @Max(65535) int p2pPort,
        @Min(1024) int maxEnvelopeBytes, @Min(1) int maxPayloadBytes, @NotNull Duration replayWindow,
        @Min(1) int nonceCacheCapacity, @Min(1) int blacklistThreshold, @NotNull Duration blacklistWindow,
        @NotNull Duration blacklistBan,
        @NotEmpty Map<String, List<String>> capabilities, @NotNull List<String> advertisedServices,
        @NotNull List<String> seeds,
        @NotNull List<String> deniedPeers, @NotNull @Valid Links links, @NotNull @Valid Routing routing)
        implements ServiceDataDir {

    /** The capabilities this cell advertises: {@code capabilities}, limited to {@code advertisedServices} if set. */
    public Map<String, List<String>> advertisedCapabilities() {
        if (advertisedServices.isEmpty()) {
            return capabilities;
        }
        Map<String, List<String>> out = new java.util.TreeMap<>();
        capabilities.forEach((service, apis) -> {
            if (advertisedServices.contains(service)) {
                out.put(service, apis);
            }
        });
        return out;
    }

    /**
     * Links between cells.
     *
     * @param maxLinks            open links at most (inbound and outbound); more are refused with a goodbye
     * @param inboundPerSecond    new inbound links accepted per second and remote address (token bucket)
     * @param inboundBurst        see {@code inboundPerSecond}
     * @param handshakeTimeout    a dial gives up when TLS and the hello exchange take longer
     * @param keepaliveInterval   a keep-alive (also a round-trip sample) goes over every link this often; a link
     *                            that receives nothing for three intervals is closed
     * @param idleTimeout         a link that carried no message for this long is closed (not links to seeds or
     *                            to peers connected by an operator)
     * @param backoffMin          first wait before redialling an address that failed; doubles up to
     *                            {@code backoffMax}, with ±20 % jitter
     * @param backoffMax          see {@code backoffMin}
     * @param messagesPerSecond   envelopes accepted per second from one link (token bucket); more are rejected as
     *                            {@code RATE_LIMITED}
     * @param messagesBurst       see {@code messagesPerSecond}
     */
    public record Links(@Min(1) int maxLinks, @Min(1) int inboundPerSecond, @Min(1) int inboundBurst,
            @NotNull Duration handshakeTimeout, @NotNull Duration keepaliveInterval, @NotNull Duration idleTimeout,
            @NotNull Duration backoffMin, @NotNull Duration backoffMax, @Min(1) int messagesPerSecond,
            @Min(1) int messagesBurst) {
    }

    /**
     * Message routing.
     *
     * @param queueCapacity    frames each priority class of a link may hold waiting for the connection; a full
     *                         queue refuses sends ({@code RESOURCE_EXHAUSTED}) instead of buffering without end
     * @param maxHops          hop limit of direct messages and requests (relays decrement it)
     * @param broadcastTtl     default hop limit of broadcasts
     * @param ackTimeout       first wait for a delivery acknowledgement before a send is retried (doubles)
     * @param callTimeout      deadline of a {@code Call} whose caller set none
     * @param advertiseInterval how often each link gets this cell's routing table
     * @param dedupCapacity    broadcast and delivered message ids remembered (deduplication)
     */
    public record Routing(@Min(1) int queueCapacity, @Min(1) @Max(32) int maxHops, @Min(1) @Max(32) int broadcastTtl,
            @NotNull Duration ackTimeout, @NotNull Duration callTimeout, @NotNull Duration advertiseInterval,
            @Min(1000) int dedupCapacity) {
    }
}
