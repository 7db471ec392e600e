package io.celluler.state.replication;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import io.celluler.core.hash.Sha256;
import io.celluler.core.peer.PeerNetwork;
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
 * ({@code celluler.state.roots.diverged}) and shown in the status until a later comparison finds every root equal. A
 * peer that has not applied the height yet is not a divergence.
 */
public class RootComparison implements SmartLifecycle {

    public static final String TOPIC = "state";
    public static final String CAPABILITY = "state-service";
    private static final Logger log = LoggerFactory.getLogger(RootComparison.class);

    /** The outcome of one comparison. */
    public record Result(long height, String localRoot, List<PeerRoot> peers, boolean diverged) {
    }

    private final StateNode node;
    private final PeerNetwork<StatePeerRequest, StatePeerResponse> network;
    private final Duration interval;
    private final Counter divergences;
    private volatile boolean diverged;
    private volatile long divergedHeight;
    private volatile boolean running;
    private ExecutorService handlers;
    private ScheduledExecutorService retries;
    private PeriodicPass pass;

    /** {@code network} null: this cell works alone and compares with no one. */
    public RootComparison(StateNode node, PeerNetwork<StatePeerRequest, StatePeerResponse> network, Duration interval,
            MeterRegistry meters) {
        this.node = node;
        this.network = network;
        this.interval = interval;
        this.divergences = Counter.builder("celluler.state.roots.diverged")
                .description("peer roots found different from this cell's at the same height").register(meters);
    }

    public boolean diverged() {
        return diverged;
    }

    public long divergedHeight() {
        return divergedHeight;
    }

    /** The cells to compare with by default: every live cell that runs state-service. */
    public List<String> peers() {
        return network == null ? List.of() : network.peers();
    }

    /**
     * Compares this cell's root at {@code row}'s height with each of {@code cells}' (one call each, in turn; a cell
     * that does not answer is reported, not a divergence).
     */
    public Result compare(HeightRow row, List<String> cells) {
        String local = Sha256.hex(row.root());
        List<PeerRoot> answers = new ArrayList<>();
        boolean differs = false;
        for (String cell : cells) {
            PeerRoot.Builder p = PeerRoot.newBuilder().setCellId(cell);
            if (network == null) {
                answers.add(p.setError("this cell works alone (no network-service)").build());
                continue;
            }
            try {
                RootAnswer a = network.call(cell, StatePeerRequest.newBuilder()
                        .setRoot(RootQuery.newBuilder().setHeight(row.height())).build()).getRoot();
                if (a.getRoot().isEmpty()) {
                    p.setError("not at height " + row.height() + " yet (applied: " + a.getAppliedHeight() + ")");
                } else {
                    p.setRoot(a.getRoot()).setMatches(a.getRoot().equals(local));
                    if (!p.getMatches()) {
                        differs = true;
                        divergences.increment();
                        log.error("state: ALARM state root divergence at height {}: this cell has {}, cell {} has {}",
                                row.height(), local, cell, a.getRoot());
                    }
                }
            } catch (StatusRuntimeException e) {
                p.setError("not reached: " + e.getStatus().getCode()
                        + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
            }
            answers.add(p.build());
        }
        if (differs) {
            diverged = true;
            divergedHeight = row.height();
        } else if (answers.stream().anyMatch(PeerRoot::getMatches)) {
            diverged = false; // every root that answered at this height agrees
        }
        return new Result(row.height(), local, answers, differs);
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
        if (network == null) {
            return;
        }
        handlers = Executors.newFixedThreadPool(2, Thread.ofPlatform().name("state-peer-", 0).daemon(true).factory());
        retries = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("state-serve-retry").daemon(true)
                .factory());
        network.serve(this::handle, handlers, retries, Duration.ofSeconds(1));
        pass = new PeriodicPass("state-compare", interval, log, this::comparePass);
    }

    @Override
    public void stop() {
        running = false;
        if (pass != null) {
            pass.close();
        }
        if (handlers != null) {
            handlers.shutdownNow();
            retries.shutdownNow();
        }
        if (network != null) {
            network.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
