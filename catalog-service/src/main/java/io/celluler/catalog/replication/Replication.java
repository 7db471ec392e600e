package io.celluler.catalog.replication;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.Timestamp;
import io.celluler.catalog.config.CatalogProperties;
import io.celluler.catalog.engine.AntiEntropy;
import io.celluler.catalog.engine.CatalogReplica;
import io.celluler.catalog.engine.CatalogReplica.DeltaBatch;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.engine.EntryState;
import io.celluler.catalog.node.CatalogNode;
import io.celluler.core.peer.PeerNetwork;
import io.celluler.core.task.PeriodicPass;
import io.celluler.proto.catalog.v1.AntiEntropyAnswer;
import io.celluler.proto.catalog.v1.AntiEntropyAsk;
import io.celluler.proto.catalog.v1.AntiEntropyResult;
import io.celluler.proto.catalog.v1.CatalogPeerRequest;
import io.celluler.proto.catalog.v1.CatalogPeerResponse;
import io.celluler.proto.catalog.v1.EntryCrdt;
import io.celluler.proto.catalog.v1.GossipBatch;
import io.celluler.proto.catalog.v1.LoggedDelta;
import io.celluler.proto.catalog.v1.PeerSyncStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The catalog between cells, through network-service: every {@code gossip-interval} this cell pushes each peer
 * the changes of its log the peer has not acknowledged (or, every few seconds, an empty batch: a report of what it
 * knows, which causal stability needs); every {@code anti-entropy-interval} it runs an anti-entropy round with the
 * next peer in turn; every second it collects the tombstones that became stable. It answers other cells' gossip
 * and anti-entropy requests. Everything a cell sends is decoded and checked ({@link EntryCodec#decode}); a cell
 * that sends what does not decode is reported to network-service.
 */
@Component
public class Replication implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Replication.class);
    /** An answer may carry about this many bytes of states (network-service carries at most 1 MiB a payload). */
    static final int STATE_BYTES = 512 * 1024;
    static final AntiEntropy.Limits LIMITS = new AntiEntropy.Limits(32, 256, 64, 512, 512, STATE_BYTES);
    private static final Duration REPORT_EVERY = Duration.ofSeconds(2);
    private static final int MAX_BATCHES_A_PASS = 16;
    private static final Duration REPORT_FOR = Duration.ofMinutes(10);

    /** Per-peer figures for GetSyncStatus. */
    static final class PeerStats {
        volatile Instant lastSent;
        volatile Instant lastReceived;
        volatile Instant lastAntiEntropy;
        volatile boolean inSync;
        volatile int divergentRanges;
        volatile long entriesSent;
        volatile long entriesReceived;
        volatile long bytesSent;
        volatile long bytesReceived;
        volatile long lastReportNanos;
    }

    private final CatalogProperties.Replication settings;
    private final CatalogNode node;
    private final PeerNetwork<CatalogPeerRequest, CatalogPeerResponse> network;
    private final Map<String, PeerStats> stats = new ConcurrentHashMap<>();
    private final AtomicInteger nextPeer = new AtomicInteger();
    private final Counter rejected;
    private final Counter rounds;
    private volatile List<PeriodicPass> passes = List.of();
    private volatile ExecutorService handlers;
    private volatile ScheduledExecutorService retries;
    private volatile boolean running;

    public Replication(CatalogProperties props, CatalogNode node, CatalogNetwork network, MeterRegistry meters) {
        this.settings = props.replication();
        this.node = node;
        this.network = network.network();
        this.rejected = meters.counter("celluler.catalog.replication.rejected");
        this.rounds = meters.counter("celluler.catalog.anti_entropy.rounds");
    }

    // ---- gossip -------------------------------------------------------------------------------------------------

    /** The live catalog peers, or null while this replica or network-service is not ready. */
    private List<String> livePeers() {
        if (!node.ready()) {
            return null;
        }
        try {
            return network.peers();
        } catch (StatusRuntimeException e) {
            return null; // network-service not reachable now
        }
    }

    private void gossipPass() {
        List<String> peers = livePeers();
        if (peers == null) {
            return;
        }
        List<String> unknown = node.read(r -> peers.stream().filter(p -> !r.members().contains(p)).toList());
        if (!unknown.isEmpty()) {
            node.write((r, changes) -> {
                unknown.forEach(r::addMember);
                return null;
            });
        }
        for (String peer : peers) {
            // a peer that is behind gets batch after batch while each one advances it (a bounded number a pass)
            for (int i = 0; i < MAX_BATCHES_A_PASS; i++) {
                if (!gossipOnce(peer)) {
                    break;
                }
            }
        }
    }

    /** Sends {@code peer} one batch (or a due report); answers whether it was full and moved the peer on. */
    private boolean gossipOnce(String peer) {
        PeerStats st = stats.computeIfAbsent(peer, p -> new PeerStats());
        DeltaBatch b = node.read(r -> r.gossipTo(peer, settings.gossipBatch(), STATE_BYTES));
        boolean due = System.nanoTime() - st.lastReportNanos > REPORT_EVERY.toNanos();
        if (b.deltas().isEmpty() && !due) {
            return false;
        }
        GossipBatch.Builder msg = GossipBatch.newBuilder().setKnowledge(CatalogWire.report(b.knowledge()))
                .setSenderSeq(b.originSeq());
        b.deltas().forEach(d -> msg.addDeltas(LoggedDelta.newBuilder().setSeq(d.seq())
                .setDelta(EntryCodec.encode(d.state()))));
        CatalogPeerRequest req = CatalogPeerRequest.newBuilder().setGossip(msg).build();
        try {
            CatalogPeerResponse resp = network.call(peer, req);
            st.lastReportNanos = System.nanoTime();
            st.lastSent = Instant.now();
            st.entriesSent += b.deltas().size();
            st.bytesSent += req.getSerializedSize();
            Map<String, Long> known = CatalogWire.vector(resp.getAck());
            long last = b.deltas().isEmpty() ? 0 : b.deltas().getLast().seq();
            node.write((r, changes) -> {
                r.onAck(peer, known);
                return null;
            });
            return last > 0 && last < b.originSeq() && known.getOrDefault(b.origin(), 0L) >= last;
        } catch (StatusRuntimeException e) {
            log.debug("catalog gossip to {}: {}", peer, e.getStatus());
            return false;
        }
    }

    private CatalogPeerResponse onGossip(String from, GossipBatch g) {
        List<CatalogReplica.Delta> deltas = new ArrayList<>(g.getDeltasCount());
        for (LoggedDelta d : g.getDeltasList()) {
            deltas.add(new CatalogReplica.Delta(d.getSeq(), decode(from, d.getDelta())));
        }
        DeltaBatch batch = new DeltaBatch(from, deltas, CatalogWire.vector(g.getKnowledge()), g.getSenderSeq());
        PeerStats st = stats.computeIfAbsent(from, p -> new PeerStats());
        st.lastReceived = Instant.now();
        st.entriesReceived += deltas.size();
        st.bytesReceived += g.getSerializedSize();
        Map<String, Long> known = node.write((r, changes) -> {
            changes.addAll(r.onDeltas(batch, System.currentTimeMillis()));
            return r.knowledgeVector();
        });
        return CatalogPeerResponse.newBuilder().setAck(CatalogWire.report(known)).build();
    }

    // ---- anti-entropy -------------------------------------------------------------------------------------------

    private void antiEntropyPass() {
        List<String> peers = livePeers();
        if (peers != null && !peers.isEmpty()) {
            round(peers.get(Math.floorMod(nextPeer.getAndIncrement(), peers.size())));
        }
    }

    /** Runs {@link #round} with the given peers (all live catalog peers when empty). */
    public List<AntiEntropyResult> runAntiEntropy(List<String> cells) {
        if (network == null) {
            throw Status.FAILED_PRECONDITION.withDescription("this cell works alone"
                    + " (celluler.catalog.replication.network-address is not set)").asRuntimeException();
        }
        List<String> peers = cells.isEmpty() ? network.peers() : cells;
        List<AntiEntropyResult> out = new ArrayList<>();
        for (String p : peers) {
            out.add(round(p));
        }
        return out;
    }

    /** One anti-entropy round with {@code peer}. */
    AntiEntropyResult round(String peer) {
        PeerStats st = stats.computeIfAbsent(peer, p -> new PeerStats());
        AntiEntropy.Session session = node.read(r -> new AntiEntropy.Session(r, peer, LIMITS));
        long bytesSent = 0;
        long bytesReceived = 0;
        AntiEntropyResult.Builder result = AntiEntropyResult.newBuilder().setCellId(peer);
        try {
            for (int guard = 0; guard < 100_000; guard++) {
                // the request's pushed states are live objects of the replica: encoded under the lock
                java.util.Optional<AntiEntropyAsk> ask = node.read(r -> java.util.Optional.ofNullable(session.next())
                        .map(CatalogWire::ask));
                if (ask.isEmpty()) {
                    break;
                }
                CatalogPeerRequest req = CatalogPeerRequest.newBuilder().setAntiEntropy(ask.get()).build();
                bytesSent += req.getSerializedSize();
                CatalogPeerResponse resp = network.call(peer, req);
                bytesReceived += resp.getSerializedSize();
                if (!resp.hasAntiEntropy()) {
                    throw Status.DATA_LOSS.withDescription("not an anti-entropy answer").asRuntimeException();
                }
                AntiEntropy.Response answer;
                try {
                    answer = CatalogWire.response(resp.getAntiEntropy());
                } catch (IllegalArgumentException bad) {
                    reject(peer, "a bad anti-entropy answer: " + bad.getMessage());
                    throw Status.DATA_LOSS.withDescription(bad.getMessage()).asRuntimeException();
                }
                node.write((r, changes) -> {
                    int before = session.changes().size();
                    session.onResponse(answer, System.currentTimeMillis());
                    changes.addAll(session.changes().subList(before, session.changes().size()));
                    return null;
                });
            }
        } catch (StatusRuntimeException e) {
            result.setError(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
        }
        rounds.increment();
        AntiEntropy.Result r = session.result();
        boolean synced = session.isFinished() && result.getError().isEmpty();
        st.lastAntiEntropy = Instant.now();
        st.inSync = synced && r.divergentRanges() == 0;
        st.divergentRanges = r.divergentRanges();
        st.entriesSent += r.entriesSent();
        st.entriesReceived += r.entriesReceived();
        st.bytesSent += bytesSent;
        st.bytesReceived += bytesReceived;
        return result.setRounds(r.roundTrips()).setDivergentRanges(r.divergentRanges())
                .setEntriesSent(r.entriesSent()).setEntriesReceived(r.entriesReceived()).setBytesSent(bytesSent)
                .setBytesReceived(bytesReceived).setInSync(synced).build();
    }

    private CatalogPeerResponse onAntiEntropy(String from, AntiEntropyAsk a) {
        AntiEntropy.Request q;
        try {
            q = CatalogWire.request(a);
        } catch (IllegalArgumentException bad) {
            reject(from, "a bad anti-entropy request: " + bad.getMessage());
            throw Status.INVALID_ARGUMENT.withDescription(bad.getMessage()).asRuntimeException();
        }
        boolean pushes = !q.push().isEmpty();
        long now = System.currentTimeMillis();
        // the answer's states are live objects of the replica: encoded under the same lock
        AntiEntropyAnswer msg = !pushes && !q.complete()
                ? node.read(r -> CatalogWire.answer(AntiEntropy.answer(r, from, q, now, STATE_BYTES).response()))
                : node.write((r, changes) -> {
                    AntiEntropy.Answer an = AntiEntropy.answer(r, from, q, now, STATE_BYTES);
                    changes.addAll(an.changes());
                    return CatalogWire.answer(an.response());
                });
        return CatalogPeerResponse.newBuilder().setAntiEntropy(msg).build();
    }

    // ---- tombstones ---------------------------------------------------------------------------------------------

    private void collectPass() {
        if (node.ready() && node.read(r -> r.tombstoneCount() > 0)) {
            node.write((r, changes) -> {
                changes.addAll(r.collectGarbage());
                return null;
            });
        }
    }

    // ---- serving ------------------------------------------------------------------------------------------------

    private CatalogPeerResponse handle(String from, CatalogPeerRequest req) {
        if (!node.ready()) {
            throw Status.UNAVAILABLE.withDescription("catalog-service is starting").asRuntimeException();
        }
        return switch (req.getKindCase()) {
            case GOSSIP -> onGossip(from, req.getGossip());
            case ANTI_ENTROPY -> onAntiEntropy(from, req.getAntiEntropy());
            default -> throw Status.INVALID_ARGUMENT.withDescription("an empty catalog request").asRuntimeException();
        };
    }

    /** A state from another cell, checked; what does not decode is rejected and its sender reported. */
    private EntryState decode(String from, EntryCrdt m) {
        try {
            return EntryCodec.decode(m);
        } catch (IllegalArgumentException e) {
            reject(from, "an entry state that does not decode: " + e.getMessage());
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
    }

    private void reject(String from, String why) {
        rejected.increment();
        log.warn("catalog: cell {} sent {}", from, why);
        Thread.ofVirtual().start(() -> network.report(from, "catalog: " + why, REPORT_FOR));
    }

    // ---- status -------------------------------------------------------------------------------------------------

    /** Per peer: the last exchanges and whether the last anti-entropy round found the replicas equal. */
    public List<PeerSyncStatus> peerStatus() {
        List<PeerSyncStatus> out = new ArrayList<>();
        new TreeMap<>(stats).forEach((cell, st) -> {
            PeerSyncStatus.Builder b = PeerSyncStatus.newBuilder().setCellId(cell).setInSync(st.inSync)
                    .setDivergentRanges(st.divergentRanges).setEntriesSent(st.entriesSent)
                    .setEntriesReceived(st.entriesReceived).setBytesSent(st.bytesSent)
                    .setBytesReceived(st.bytesReceived);
            if (st.lastSent != null) {
                b.setLastDeltaSentAt(ts(st.lastSent));
            }
            if (st.lastReceived != null) {
                b.setLastDeltaReceivedAt(ts(st.lastReceived));
            }
            if (st.lastAntiEntropy != null) {
                b.setLastAntiEntropyAt(ts(st.lastAntiEntropy));
            }
            out.add(b.build());
        });
        return out;
    }

    private static Timestamp ts(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    @Override
    public void start() {
        running = true;
        if (network == null) {
            return;
        }
        handlers = Executors.newFixedThreadPool(settings.handlerThreads(), Thread.ofPlatform().name("catalog-peer-", 0)
                .daemon(true).factory());
        retries = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("catalog-serve-retry")
                .daemon(true).factory());
        network.serve(this::handle, handlers, retries, Duration.ofSeconds(1));
        passes = List.of(
                new PeriodicPass("catalog-gossip", settings.gossipInterval(), log, this::gossipPass),
                new PeriodicPass("catalog-anti-entropy", settings.antiEntropyInterval(), log, this::antiEntropyPass),
                new PeriodicPass("catalog-collect", Duration.ofSeconds(1), log, this::collectPass));
    }

    @Override
    public void stop() {
        running = false;
        passes.forEach(PeriodicPass::close);
        passes = List.of();
        if (handlers != null) {
            handlers.shutdownNow();
            retries.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** After the node (which loads the replica) and before it stops. */
    @Override
    public int getPhase() {
        return 10;
    }
}
