package io.celluler.state.replication;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BiFunction;

import io.celluler.core.peer.PeerNetwork;
import io.celluler.proto.state.v1.StatePeerRequest;
import io.celluler.proto.state.v1.StatePeerResponse;
import io.grpc.Status;

/**
 * state-service's way to the state-services of other cells (network-service topic {@code state}, capability
 * {@code state-service}): one Serve stream whose requests go to the handler of their kind, and calls out. Absent
 * ({@link #alone}) when this cell has no network-service.
 */
public final class StatePeers implements AutoCloseable {

    public static final String TOPIC = "state";
    public static final String CAPABILITY = "state-service";

    private final PeerNetwork<StatePeerRequest, StatePeerResponse> network;
    private final java.util.Map<StatePeerRequest.KindCase, BiFunction<String, StatePeerRequest, StatePeerResponse>>
            handlers = new java.util.concurrent.ConcurrentHashMap<>();
    private ExecutorService workers;
    private ScheduledExecutorService retries;

    /** {@code address} blank: this cell works alone. */
    public StatePeers(String address, Duration callTimeout) {
        this.network = address == null || address.isBlank() ? null
                : new PeerNetwork<>(address, callTimeout, TOPIC, CAPABILITY, StatePeerRequest.parser(),
                        StatePeerResponse.parser());
    }

    public boolean alone() {
        return network == null;
    }

    /** Answers requests of {@code kind} with {@code handler(fromCell, request)}. */
    public void handle(StatePeerRequest.KindCase kind, BiFunction<String, StatePeerRequest, StatePeerResponse> handler) {
        handlers.put(kind, handler);
    }

    /** Starts answering other cells (after the handlers are set). */
    public synchronized void serve() {
        if (network == null || workers != null) {
            return;
        }
        workers = Executors.newFixedThreadPool(2, Thread.ofPlatform().name("state-peer-", 0).daemon(true).factory());
        retries = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("state-serve-retry").daemon(true)
                .factory());
        network.serve((from, request) -> {
            BiFunction<String, StatePeerRequest, StatePeerResponse> h = handlers.get(request.getKindCase());
            if (h == null) {
                throw Status.UNIMPLEMENTED.withDescription("state: no answer to " + request.getKindCase())
                        .asRuntimeException();
            }
            return h.apply(from, request);
        }, workers, retries, Duration.ofSeconds(1));
    }

    /** The other live cells that run state-service (none when alone). */
    public List<String> peers() {
        return network == null ? List.of() : network.peers();
    }

    /** One request to another cell's state-service; its answer or a {@link io.grpc.StatusRuntimeException}. */
    public StatePeerResponse call(String cell, StatePeerRequest request) {
        if (network == null) {
            throw Status.FAILED_PRECONDITION.withDescription("this cell works alone (no network-service)")
                    .asRuntimeException();
        }
        return network.call(cell, request);
    }

    @Override
    public synchronized void close() {
        if (workers != null) {
            workers.shutdownNow();
            retries.shutdownNow();
        }
        if (network != null) {
            network.close();
        }
    }
}
