package io.celluler.cas.replication;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.celluler.core.task.PeriodicPass;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.replication.ReplicaIndex.Copy;
import io.celluler.cas.replication.ReplicaIndex.Wanted;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.cas.store.Erasure;
import io.celluler.cas.store.RemoteChunks;
import io.celluler.proto.cas.v1.PeerCopyWanted;
import io.celluler.proto.cas.v1.PeerReplicaState;
import io.celluler.proto.cas.v1.PeerReplicaStatus;
import io.celluler.proto.cas.v1.PeerReplicate;
import io.celluler.proto.cas.v1.PeerRelease;
import io.celluler.proto.cas.v1.PeerRequest;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Keeps content in as many copies as it asks for, and this cell's chunks whole: the anti-entropy pass, every
 * {@code celluler.cas.replication.interval}, each step bounded per pass.
 * <ol>
 *   <li><b>Scrub</b>: the next {@code scrub-batch} referenced chunk rows (in hash order, round and round) are checked
 *       for their file, and the next {@code verify-per-pass} bytes of chunks are read back and re-hashed (a chunk
 *       that no longer matches is quarantined). What is missing or corrupt is fetched again from other cells by
 *       hash ({@link Repairer}). A deleted chunk folder is rebuilt this way; so is the copy a cell keeps for another.</li>
 *   <li><b>Placement</b>: for the next {@code placement-batch} contents wanted in more than one copy, the cells
 *       keeping copies are asked how complete they are; while fewer than {@code factor - 1} live cells keep one, the
 *       next cells in rendezvous order ({@link Placement}) are asked to keep one (they fetch the manifest and chunks
 *       from this cell or any other). Content nothing here references any more has its copies released.</li>
 *   <li><b>Erasure coding</b>: the same for content kept as k + m shards on other cells ({@link ShardPlacement});
 *       chunks that no cell had whole are rebuilt from shards; shards kept here for others and found lost are
 *       fetched again from their origins, and unfinished ones resumed ({@link ShardKeeper}).</li>
 * </ol>
 * Reads do not wait for a pass: a chunk found missing or corrupt on read is fetched from other cells at once
 * ({@link #fetch}) and the read goes on with the verified bytes.
 */
@Component
public class Replicator implements SmartLifecycle, RemoteChunks {

    private static final Logger log = LoggerFactory.getLogger(Replicator.class);

    private final CasProperties.Replication settings;
    private final ContentService content;
    private final ChunkStore chunks;
    private final ReplicaIndex replicas;
    private final ErasureIndex erasure;
    private final PeerNetwork network;
    private final Repairer repairer;
    private final PeerProtocol protocol;
    private final ShardKeeper shardKeeper;
    private final ShardPlacement shardPlacement;
    private final Clock clock = Clock.systemUTC();
    private final Counter missingFound;
    private final Counter copiesRequested;
    private final Counter copiesReleased;
    private final Counter copiesDropped;
    private final AtomicInteger underReplicated = new AtomicInteger();
    private volatile PeriodicPass passes;
    private volatile ScheduledExecutorService reconnects;
    private volatile ThreadPoolExecutor handlers;
    private String scrubCursor = "";
    private String verifyCursor = "";
    private String placementCursor = "";
    private String holdCursorRoot = "";
    private String holdCursorOrigin = "";
    private volatile boolean running;

    /** What one pass did. */
    public record Pass(int chunksChecked, long bytesVerified, int missing, int repaired, int contentsChecked,
            int copiesRequested, int copiesReleased, int underReplicated, int copiesDropped, Shards shards) {
    }

    /**
     * What one pass did for erasure-coded content: contents checked, shard indexes newly placed, released, contents
     * with fewer than k + m indexes kept, chunks rebuilt from shards, shards kept here fetched again, shards kept
     * here released because their origin no longer wants them.
     */
    public record Shards(int contentsChecked, int shardsRequested, int shardsReleased, int underProtected, int chunksRebuilt,
            int shardsRepaired, int shardsDropped) {
        static final Shards NONE = new Shards(0, 0, 0, 0, 0, 0, 0);

        boolean changedAnything() {
            return shardsRequested + shardsReleased + chunksRebuilt + shardsRepaired + shardsDropped > 0;
        }
    }

    public Replicator(CasProperties props, ContentService content, ReplicaIndex replicas, ErasureIndex erasure,
            MeterRegistry meters) {
        this.settings = props.replication();
        this.content = content;
        this.chunks = content.chunks();
        this.replicas = replicas;
        this.erasure = erasure;
        if (settings.networked()) {
            this.network = new PeerNetwork(settings.networkAddress(), settings.callTimeout());
            this.repairer = new Repairer(network, chunks, content.index(), content.inFlight(), meters);
            this.protocol = new PeerProtocol(content, replicas, erasure, network, repairer);
            this.shardKeeper = protocol.shards();
            this.shardPlacement = new ShardPlacement(content, erasure, replicas, network, meters);
        } else {
            this.network = null;
            this.repairer = null;
            this.protocol = null;
            this.shardKeeper = null;
            this.shardPlacement = null;
        }
        this.missingFound = meters.counter("celluler.cas.scrub.missing");
        this.copiesRequested = meters.counter("celluler.cas.replication.copies.requested");
        this.copiesReleased = meters.counter("celluler.cas.replication.copies.released");
        this.copiesDropped = meters.counter("celluler.cas.replication.copies.dropped");
        Gauge.builder("celluler.cas.replication.under", underReplicated, AtomicInteger::get)
                .description("contents with fewer live copies than wanted at the last pass").register(meters);
    }

    /** Whether this cell talks to other cells. */
    public boolean networked() {
        return network != null;
    }

    /** Whether other cells' requests reach this cell now. */
    public boolean serving() {
        return network != null && network.serving();
    }

    @Override
    public boolean fetch(String sha256) {
        return repairer != null && repairer.fetch(sha256);
    }

    /** A chunk of {@code root}: from a cell that has it whole, else rebuilt from the content's shards (if coded). */
    @Override
    public boolean fetch(String sha256, String root) {
        return fetch(sha256) || (shardPlacement != null && shardPlacement.rebuild(root, sha256));
    }

    /** How {@code root} is erasure-coded over other cells ({@link Erasure#NONE}: it is not). */
    public Erasure erasureOf(String root) {
        return erasure.coded(root).map(ErasureIndex.Coded::erasure).orElse(Erasure.NONE);
    }

    public List<ErasureIndex.ShardCopy> shardsOf(String root) {
        return erasure.shards(root);
    }

    /** Copies wanted for {@code root} (1: this cell's only) and where they are. */
    public int factorOf(String root) {
        return replicas.wanted(root).map(Wanted::factor).orElse(1);
    }

    public List<Copy> copiesOf(String root) {
        return replicas.copies(root);
    }

    /** One pass (the scheduler calls it; tests call it to avoid waiting). */
    public synchronized Pass runPass() {
        List<String> missing = new ArrayList<>();
        int checked = scrub(missing);
        long verified = verify(missing);
        Set<String> lost = new LinkedHashSet<>(missing);
        int found = lost.size();
        int repaired = 0;
        int shardsRepaired = 0;
        List<String> peers = network == null ? null : livePeers();
        if (!lost.isEmpty()) {
            missingFound.increment(lost.size());
            if (repairer != null) {
                // shards kept for other cells exist nowhere else by their hash: they come again from their origins
                List<ErasureIndex.MappedShard> shards = erasure.shardsAmong(lost);
                if (!shards.isEmpty() && peers != null) {
                    Set<String> again = shardKeeper.repair(shards, new HashSet<>(peers));
                    shardsRepaired = again.size();
                    lost.removeAll(again); // the rest is asked of every cell by hash, like any chunk
                }
                Set<String> fetched = repairer.repair(lost, List.of());
                repaired = fetched.size();
                lost.removeAll(fetched);
                shardPlacement.noteLost(lost); // chunks no cell had whole: rebuilt from shards if their content is coded
            } else {
                log.warn("{} chunk(s) are missing or corrupt and this cell has no network to repair them from (e.g. {})",
                        lost.size(), lost.iterator().next());
            }
        }
        int[] placement = new int[4];
        int dropped = 0;
        Shards coded = Shards.NONE;
        if (peers != null) {
            placement = place(peers);
            dropped = recheckHolds(new HashSet<>(peers));
            ShardPlacement.Step step = shardPlacement.place(peers, settings.placementBatch());
            shardKeeper.resume(new HashSet<>(peers), settings.placementBatch());
            int shardsDropped = shardKeeper.recheck(new HashSet<>(peers), clock.instant().minus(settings.holdRecheckAfter()),
                    settings.placementBatch());
            coded = new Shards(step.contents(), step.shardsRequested(), step.shardsReleased(), step.underProtected(),
                    step.chunksRebuilt(), shardsRepaired, shardsDropped);
        }
        return new Pass(checked, verified, found, repaired, placement[0], placement[1], placement[2], placement[3],
                dropped, coded);
    }

    /** Presence of the next rows' files; returns how many rows were checked. */
    private int scrub(List<String> missing) {
        List<String> rows = replicas.referencedChunks(scrubCursor, settings.scrubBatch());
        scrubCursor = rows.size() < settings.scrubBatch() ? "" : rows.get(rows.size() - 1);
        for (String h : rows) {
            if (!chunks.contains(h)) {
                missing.add(h);
            }
        }
        return rows.size();
    }

    /**
     * Re-hashes the next chunks up to the byte budget, from where the last pass stopped, round and round (at most
     * once round per pass: a small store is not re-read again and again); returns the bytes read.
     */
    private long verify(List<String> missing) {
        long budget = settings.verifyPerPass().toBytes();
        long read = 0;
        boolean wrapped = false;
        for (int round = 0; round < 1_000 && read < budget; round++) { // bounded even when every row is missing
            List<String> rows = replicas.referencedChunks(verifyCursor, 256);
            if (rows.isEmpty()) {
                if (wrapped || verifyCursor.isEmpty()) {
                    break;
                }
                wrapped = true;
                verifyCursor = "";
                continue;
            }
            for (String h : rows) {
                verifyCursor = h;
                try {
                    read += chunks.read(h).length;
                } catch (ChunkStore.MissingChunkException missingOrQuarantined) {
                    missing.add(h);
                } catch (IOException e) {
                    log.warn("scrub could not read chunk {}: {}", h, e.toString());
                }
                if (read >= budget) {
                    break;
                }
            }
        }
        return read;
    }

    /** The placement step; returns {contents checked, copies requested, copies released, under-replicated}. */
    /** The other live cells with cas-service, or null (logged) when network-service cannot be asked. */
    private List<String> livePeers() {
        try {
            String self = network.selfId();
            List<String> peers = new ArrayList<>(network.peers());
            peers.remove(self);
            return peers;
        } catch (StatusRuntimeException e) {
            log.warn("placement of copies skipped: network-service is not reachable ({})", e.getStatus());
            return null;
        }
    }

    private int[] place(List<String> peers) {
        int[] out = new int[4];
        Set<String> alive = new HashSet<>(peers);
        List<Wanted> page = replicas.wanted(placementCursor, settings.placementBatch());
        placementCursor = page.size() < settings.placementBatch() ? "" : page.get(page.size() - 1).root();
        for (Wanted w : page) {
            out[0]++;
            Optional<StoredManifest> m = content.manifest(w.root());
            List<Copy> copies = replicas.copies(w.root());
            if (m.isEmpty() || replicas.ownReferences(w.root()) <= 0) {
                out[2] += release(w, copies);
                continue;
            }
            int want = Math.min(w.factor(), settings.maxFactor()) - 1;
            int held = 0;
            Set<String> asked = new HashSet<>();
            for (Copy c : copies) {
                asked.add(c.cellId());
                if (alive.contains(c.cellId()) && confirm(c.cellId(), m.get(), false)) {
                    held++;
                }
            }
            for (String cell : Placement.rank(w.root(), peers)) {
                if (held >= want) {
                    break;
                }
                if (!asked.contains(cell) && confirm(cell, m.get(), true)) {
                    held++;
                    out[1]++;
                    copiesRequested.increment();
                }
            }
            if (held < want) {
                out[3]++;
                log.warn("content {} has {} live copies elsewhere of the {} it wants ({} cells with cas-service alive)", w.root(),
                        held, want, peers.size());
            }
        }
        underReplicated.set(out[3]);
        return out;
    }

    /**
     * Asks {@code cell} how its copy of {@code m} is, and to keep one if it does not (always when {@code fresh});
     * records the answer. True when the cell keeps a copy.
     */
    private boolean confirm(String cell, StoredManifest m, boolean fresh) {
        String root = m.manifest().root();
        try {
            PeerReplicaState s = fresh ? null : network.call(cell, PeerRequest.newBuilder()
                    .setReplicaStatus(PeerReplicaStatus.newBuilder().setRoot(root)).build()).getReplicaState();
            if (s == null || !s.getHeld()) {
                if (fresh) {
                    // recorded before asking: if the answer is lost, the copy it may have made is still known (and
                    // released with the content); -1: asked, no answer yet
                    replicas.recordCopy(root, cell, -1, clock.instant());
                }
                s = network.call(cell, PeerRequest.newBuilder().setReplicate(PeerReplicate.newBuilder().setRoot(root)
                        .setSizeBytes(m.manifest().sizeBytes()).setChunkCount(m.manifest().chunks().size())).build())
                        .getReplicaState();
            }
            if (s.getHeld()) {
                replicas.recordCopy(root, cell, s.getChunksMissing(), clock.instant());
                return true;
            }
        } catch (StatusRuntimeException e) {
            log.debug("cell {} did not answer for its copy of {}: {}", cell, root, e.getStatus());
        }
        return false;
    }

    /**
     * Copies kept here for other cells, older than {@code hold-recheck-after}: each live origin is asked whether it
     * still counts on it (its release may have been lost), and a copy it no longer wants is released. A copy for a
     * cell that is gone is kept: it may be the only one left. Returns how many were released.
     */
    private int recheckHolds(Set<String> alive) {
        Instant now = clock.instant();
        List<ReplicaIndex.Hold> page = replicas.holds(holdCursorRoot, holdCursorOrigin, now.minus(settings.holdRecheckAfter()),
                settings.placementBatch());
        if (page.size() < settings.placementBatch()) {
            holdCursorRoot = "";
            holdCursorOrigin = "";
        } else {
            holdCursorRoot = page.get(page.size() - 1).root();
            holdCursorOrigin = page.get(page.size() - 1).originCell();
        }
        int dropped = 0;
        for (ReplicaIndex.Hold h : page) {
            if (!alive.contains(h.originCell())) {
                continue;
            }
            try {
                boolean wanted = network.call(h.originCell(), PeerRequest.newBuilder().setCopyWanted(PeerCopyWanted.newBuilder()
                        .setRoot(h.root())).build()).getReplicaState().getHeld();
                if (!wanted && replicas.release(h.root(), h.originCell(), now)) {
                    dropped++;
                    copiesDropped.increment();
                    log.info("cell {} no longer wants the copy of {} kept for it: released", h.originCell(), h.root());
                }
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not say whether it wants the copy of {}: {}", h.originCell(), h.root(), e.getStatus());
            }
        }
        return dropped;
    }

    /** Releases every copy of content nothing here wants; forgets it once all are released. Returns how many went. */
    private int release(Wanted w, List<Copy> copies) {
        int released = 0;
        for (Copy c : copies) {
            try {
                network.call(c.cellId(), PeerRequest.newBuilder().setRelease(PeerRelease.newBuilder().setRoot(w.root())).build());
                replicas.forgetCopy(w.root(), c.cellId());
                released++;
                copiesReleased.increment();
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not release its copy of {} yet: {}", c.cellId(), w.root(), e.getStatus());
            }
        }
        if (released == copies.size()) {
            replicas.forget(w);
        }
        return released;
    }

    // ---- lifecycle ------------------------------------------------------------------------------------------------

    @Override
    public void start() {
        // the Serve stream is opened again on a thread of its own: a long pass must not keep the cell deaf to peers
        reconnects = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("cas-peer-reconnect").factory());
        if (network != null) {
            handlers = new ThreadPoolExecutor(settings.handlerThreads(), settings.handlerThreads(), 0, TimeUnit.SECONDS,
                    new ArrayBlockingQueue<>(256), Thread.ofPlatform().daemon().name("cas-peer-", 1).factory());
            network.serve(protocol::handle, handlers, reconnects, java.time.Duration.ofSeconds(2));
        }
        passes = new PeriodicPass("cas-anti-entropy", settings.interval(), log, () -> {
            Pass p = runPass();
            if (p.missing() > 0 || p.copiesRequested() > 0 || p.copiesReleased() > 0 || p.shards().changedAnything()) {
                log.info("anti-entropy pass: {}", p);
            }
        });
        running = true;
    }

    /** Not synchronized with {@link #runPass}: stopping interrupts a pass instead of waiting for it. */
    @Override
    public void stop() {
        running = false;
        if (passes != null) {
            passes.close();
        }
        if (reconnects != null) {
            reconnects.shutdownNow();
        }
        if (handlers != null) {
            handlers.shutdownNow();
        }
        if (repairer != null) {
            repairer.close();
        }
        if (shardKeeper != null) {
            shardKeeper.close();
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
