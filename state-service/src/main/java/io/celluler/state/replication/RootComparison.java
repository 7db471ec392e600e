package io.celluler.state.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.celluler.core.hash.Sha256;
import io.celluler.core.task.PeriodicPass;
import io.celluler.proto.state.v1.PeerRoot;
import io.celluler.proto.state.v1.RootAnswer;
import io.celluler.proto.state.v1.RootQuery;
import io.celluler.proto.state.v1.StatePeerRequest;
import io.celluler.proto.state.v1.StatePeerResponse;
import io.celluler.state.node.StateNode;
import io.celluler.state.store.StateStore.HeightRow;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Cells compare their state roots (network-service topic {@code state}, capability {@code state-service}): this cell
 * answers others with its root at the height they ask about, and asks them — on request ({@code CompareRoots}) and
 * every {@code compare-interval} at its latest applied height. Cells that applied the same blocks must have the same
 * root; one that answers another root at the same height has diverged: that is logged as an ALARM, counted
 * ({@code celluler.state.roots.diverged}) and shown in the status until that cell answers this cell's root at a height
 * at least as high. A peer that has not applied the height yet is not a divergence.
 */
public class RootComparison implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(RootComparison.class);

    /** The outcome of one comparison. */
    public record Result(long height, String localRoot, List<PeerRoot> peers, boolean diverged) {
    }

    private final StateNode node;
    private final StatePeers network;
    private final Duration interval;
    private final Counter divergences;
    /** Cells found with another root, and the height: until they answer this cell's root at a height as high. */
    private final java.util.Map<String, Long> divergent = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean running;
    private PeriodicPass pass;

    public RootComparison(StateNode node, StatePeers network, Duration interval, MeterRegistry meters) {
        this.node = node;
        this.network = network;
        this.interval = interval;
        this.divergences = Counter.builder("celluler.state.roots.diverged")
                .description("peer roots found different from this cell's at the same height").register(meters);
    }

    public boolean diverged() {
        return !divergent.isEmpty();
    }

    /** The highest height at which a cell that has not agreed since was found diverged (0: none). */
    public long divergedHeight() {
        return divergent.values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /** The cells to compare with by default: every live cell that runs state-service. */
    public List<String> peers() {
        return network.peers();
    }

    /**
     * Compares this cell's root at {@code row}'s height with each of {@code cells}' (one call each, all at once; a
     * cell that does not answer is reported, not a divergence).
     */
    public Result compare(HeightRow row, List<String> cells) {
        String local = Sha256.hex(row.root());
        List<java.util.concurrent.Future<PeerRoot>> asked = new ArrayList<>(cells.size());
        try (var calls = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (String cell : cells) { // all at once: an unreachable cell costs one call timeout, not one each
                asked.add(calls.submit(() -> ask(cell, row.height(), local)));
            }
        }
        List<PeerRoot> answers = new ArrayList<>(cells.size());
        boolean differs = false;
        for (var f : asked) {
            PeerRoot p = f.resultNow();
            answers.add(p);
            if (p.getRoot().isEmpty()) {
                continue;
            }
            if (p.getMatches()) {
                divergent.computeIfPresent(p.getCellId(), (c, at) -> row.height() >= at ? null : at);
            } else {
                differs = true;
                divergent.merge(p.getCellId(), row.height(), Math::max);
                divergences.increment();
                log.error("state: ALARM state root divergence at height {}: this cell has {}, cell {} has {}",
                        row.height(), local, p.getCellId(), p.getRoot());
            }
        }
        return new Result(row.height(), local, answers, differs);
    }

    /** One cell's root at {@code height}, or why there is none. */
    private PeerRoot ask(String cell, long height, String local) {
        PeerRoot.Builder p = PeerRoot.newBuilder().setCellId(cell);
        if (network.alone()) {
            return p.setError("this cell works alone (no network-service)").build();
        }
        try {
            RootAnswer a = network.call(cell, StatePeerRequest.newBuilder()
                    .setRoot(RootQuery.newBuilder().setHeight(height)).build()).getRoot();
            return a.getRoot().isEmpty()
                    ? p.setError("not at height " + height + " yet (applied: " + a.getAppliedHeight() + ")").build()
                    : p.setRoot(a.getRoot()).setMatches(a.getRoot().equals(local)).build();
        } catch (StatusRuntimeException e) {
            return p.setError("not reached: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription())).build();
        }
    }

    /** Answers another cell's question. */
    private StatePeerResponse handle(String from, StatePeerRequest request) {
        long height = request.getRoot().getHeight();
        long applied = node.head().height();
        RootAnswer.Builder a = RootAnswer.newBuilder().setHeight(height).setAppliedHeight(applied);
        if (height >= 1 && height <= applied) {
            HeightRow row = node.store().height(height);
            if (row != null) {
                a.setRoot(Sha256.hex(row.root()));
            }
        }
        return StatePeerResponse.newBuilder().setRoot(a).build();
    }

    private void comparePass() {
        long applied = node.head().height();
        if (applied == 0) {
            return;
        }
        HeightRow row = node.store().height(applied);
        List<String> cells = peers();
        if (row != null && !cells.isEmpty()) {
            compare(row, cells);
        }
    }

    @Override
    public void start() {
        running = true;
        if (network.alone()) {
            return;
        }
        network.handle(StatePeerRequest.KindCase.ROOT, this::handle);
        network.serve();
        pass = new PeriodicPass("state-compare", interval, log, this::comparePass);
    }

    @Override
    public void stop() {
        running = false;
        if (pass != null) {
            pass.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
