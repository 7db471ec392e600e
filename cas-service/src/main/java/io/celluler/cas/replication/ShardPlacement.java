package io.celluler.cas.replication;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.celluler.cas.erasure.ReedSolomon;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.replication.ErasureIndex.Coded;
import io.celluler.cas.replication.ErasureIndex.ShardCopy;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.cas.store.Erasure;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.PeerKeepShard;
import io.celluler.proto.cas.v1.PeerReplicaState;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerShardRef;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The origin side of erasure coding: content of an erasure-coded bucket (k data + m parity shards) keeps this cell's
 * whole chunks, and shard index i of every chunk on one other cell, k + m distinct cells in rendezvous order
 * ({@link Placement}); the content survives the loss of this cell's chunks together with any m of those cells.
 * <ul>
 *   <li><b>Placement</b> (each anti-entropy pass, a bounded page of contents): each shard index's cell is asked how
 *       complete it is; an index whose cell is gone goes to the next live cell not yet used; content no longer
 *       referenced has its shards released.</li>
 *   <li><b>Rebuild</b>: a chunk of coded content that this cell lost and no cell has whole is rebuilt from any k of
 *       its shards, fetched from the cells keeping them, decoded and checked against the chunk's hash (a shard that
 *       lies is found by trying other k of them) — at once on read, or in the pass after the scrub found it lost.</li>
 * </ul>
 */
final class ShardPlacement {

    private static final Logger log = LoggerFactory.getLogger(ShardPlacement.class);
    /** Chunk bytes rebuilt together at most (their shards are in memory at once). */
    static final long REBUILD_BATCH_BYTES = 32L << 20;
    /** Lost chunks remembered for rebuild at most (the scrub finds the rest again). */
    static final int MAX_LOST = 100_000;
    /** Decodings tried per chunk at most when shards disagree with the chunk's hash. */
    static final int MAX_DECODE_TRIES = 64;
    /** Rebuilt chunks decoded and written at once at most. */
    static final int WRITES_IN_FLIGHT = 8;

    private final ContentService content;
    private final ErasureIndex index;
    private final ReplicaIndex replicas;
    private final PeerNetwork network;
    private final Clock clock = Clock.systemUTC();
    /** Chunks no cell had whole, each with the placement cycle in which it was noted. */
    private final Map<String, Integer> lost = new ConcurrentHashMap<>();
    /** Full rounds of the placement cursor over all coded content so far. */
    private int cycle;
    private final Counter shardsRequested;
    private final Counter shardsReleased;
    private final Counter rebuilt;
    private final Counter badShards;
    private final java.util.concurrent.atomic.AtomicInteger underProtected = new java.util.concurrent.atomic.AtomicInteger();
    private String cursor = "";

    /** What one placement step did. */
    record Step(int contents, int shardsRequested, int shardsReleased, int underProtected, int chunksRebuilt) {
    }

    ShardPlacement(ContentService content, ErasureIndex index, ReplicaIndex replicas, PeerNetwork network, MeterRegistry meters) {
        this.content = content;
        this.index = index;
        this.replicas = replicas;
        this.network = network;
        this.shardsRequested = meters.counter("celluler.cas.erasure.shards.requested");
        this.shardsReleased = meters.counter("celluler.cas.erasure.shards.released");
        this.rebuilt = meters.counter("celluler.cas.erasure.chunks.rebuilt");
        this.badShards = meters.counter("celluler.cas.erasure.bad.shards");
        Gauge.builder("celluler.cas.erasure.under", underProtected, java.util.concurrent.atomic.AtomicInteger::get)
                .description("erasure-coded contents with fewer shard indexes kept than k + m at the last pass").register(meters);
    }

    /** Chunks no cell had whole: rebuilt from shards when the placement step reaches content that lists them. */
    void noteLost(Collection<String> hashes) {
        for (String h : hashes) {
            if (lost.size() >= MAX_LOST) {
                break;
            }
            lost.putIfAbsent(h, cycle);
        }
    }

    Step place(List<String> peers, int batch) {
        int contents = 0;
        int requested = 0;
        int released = 0;
        int under = 0;
        int rebuiltNow = 0;
        Set<String> alive = new HashSet<>(peers);
        List<Coded> page = index.coded(cursor, batch);
        boolean lastPage = page.size() < batch;
        cursor = lastPage ? "" : page.get(page.size() - 1).root();
        for (Coded c : page) {
            contents++;
            Optional<StoredManifest> m = content.manifest(c.root());
            if (m.isEmpty() || replicas.ownReferences(c.root()) <= 0) {
                released += release(c);
                continue;
            }
            if (!lost.isEmpty()) {
                List<ChunkRef> mine = m.get().manifest().chunks().stream().filter(r -> lost.containsKey(r.sha256())).toList();
                if (!mine.isEmpty()) {
                    rebuiltNow += rebuild(c, mine, alive).size();
                }
            }
            Map<Integer, ShardCopy> shards = new HashMap<>();
            index.shards(c.root()).forEach(s -> shards.put(s.shardIndex(), s));
            Set<String> used = new HashSet<>();
            shards.values().forEach(s -> used.add(s.cellId()));
            int complete = 0; // indexes whose live cell holds every chunk's shard
            List<String> ranked = Placement.rank(c.root(), peers);
            for (int i = 0; i < c.erasure().totalShards(); i++) {
                ShardCopy s = shards.get(i);
                if (s != null && alive.contains(s.cellId())) {
                    complete += confirm(s.cellId(), c, m.get().manifest(), i, false) == 0 ? 1 : 0;
                    continue;
                }
                // not placed yet, or its cell is gone: the next live cell in rendezvous order that keeps no other index
                for (String cell : ranked) {
                    if (used.add(cell)) {
                        if (s != null) {
                            log.info("shard {} of {}: cell {} is gone, cell {} is asked to keep it", i, c.root(), s.cellId(), cell);
                        }
                        int missing = confirm(cell, c, m.get().manifest(), i, true);
                        if (missing >= 0) {
                            complete += missing == 0 ? 1 : 0;
                            requested++;
                            shardsRequested.increment();
                        }
                        break;
                    }
                }
            }
            if (complete < c.erasure().totalShards()) {
                under++;
                log.warn("content {} ({}) has {} of its {} shard indexes complete on live cells ({} other cells with cas-service"
                        + " alive)", c.root(), c.erasure(), complete, c.erasure().totalShards(), peers.size());
            }
        }
        if (lastPage) {
            // a chunk noted before this round began has been looked for in every coded content: one that none lists is
            // not this step's to rebuild (no content here is coded with it), and is forgotten
            int ended = cycle++;
            lost.values().removeIf(noted -> noted < ended);
        }
        underProtected.set(under);
        return new Step(contents, requested, released, under, rebuiltNow);
    }

    /**
     * Asks {@code cell} about its shard {@code i} of the content, and to keep it if it does not; records the answer.
     * Returns the chunks whose shard it lacks (0: complete), or -1 when it keeps none (or did not answer).
     */
    private int confirm(String cell, Coded c, Manifest m, int i, boolean fresh) {
        try {
            PeerReplicaState s = fresh ? null : network.call(cell, PeerRequest.newBuilder()
                    .setShardStatus(PeerShardRef.newBuilder().setRoot(c.root()).setShardIndex(i)).build()).getReplicaState();
            if (s == null || !s.getHeld()) {
                if (fresh) {
                    index.recordShard(c.root(), i, cell, -1, clock.instant()); // known before asked: released with the content
                }
                s = network.call(cell, PeerRequest.newBuilder().setKeepShard(PeerKeepShard.newBuilder().setRoot(c.root())
                        .setSizeBytes(m.sizeBytes()).setChunkCount(m.chunks().size()).setDataShards(c.erasure().dataShards())
                        .setParityShards(c.erasure().parityShards()).setShardIndex(i)).build()).getReplicaState();
            }
            if (s.getHeld()) {
                index.recordShard(c.root(), i, cell, s.getChunksMissing(), clock.instant());
                return Math.max(0, s.getChunksMissing());
            }
        } catch (StatusRuntimeException e) {
            log.debug("cell {} did not answer for its shard {} of {}: {}", cell, i, c.root(), e.getStatus());
        }
        return -1;
    }

    /** Releases every shard of content nothing here wants; forgets it once all are released. Returns how many went. */
    private int release(Coded c) {
        List<ShardCopy> shards = index.shards(c.root());
        int released = 0;
        for (ShardCopy s : shards) {
            try {
                network.call(s.cellId(), PeerRequest.newBuilder().setReleaseShard(PeerShardRef.newBuilder().setRoot(c.root())
                        .setShardIndex(s.shardIndex())).build());
                index.forgetShard(c.root(), s.shardIndex(), s.cellId());
                released++;
                shardsReleased.increment();
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not release its shard {} of {} yet: {}", s.cellId(), s.shardIndex(), c.root(), e.getStatus());
            }
        }
        if (released == shards.size()) {
            index.forget(c);
        }
        return released;
    }

    /** Rebuilds chunk {@code sha256} of content {@code root} from its shards when the content is coded; true when stored. */
    boolean rebuild(String root, String sha256) {
        Optional<Coded> c = index.coded(root);
        Optional<StoredManifest> m = content.manifest(root);
        if (c.isEmpty() || m.isEmpty()) {
            return false;
        }
        Optional<ChunkRef> ref = m.get().manifest().chunks().stream().filter(r -> r.sha256().equals(sha256)).findFirst();
        if (ref.isEmpty()) {
            return false;
        }
        Set<String> alive;
        try {
            alive = new HashSet<>(network.peers());
        } catch (StatusRuntimeException e) {
            return false;
        }
        return rebuild(c.get(), List.of(ref.get()), alive).contains(sha256);
    }

    /** Rebuilds {@code refs} of coded content {@code c} from shards on live cells; returns the chunks stored again. */
    Set<String> rebuild(Coded c, List<ChunkRef> refs, Set<String> alive) {
        Erasure e = c.erasure();
        ReedSolomon rs = new ReedSolomon(e.dataShards(), e.parityShards());
        Map<Integer, String> holders = new LinkedHashMap<>();
        index.shards(c.root()).stream().filter(s -> alive.contains(s.cellId())).forEach(s -> holders.put(s.shardIndex(), s.cellId()));
        Map<String, ChunkRef> distinct = new LinkedHashMap<>();
        refs.forEach(r -> distinct.putIfAbsent(r.sha256(), r));
        Set<String> done = new HashSet<>();
        List<ChunkRef> batch = new ArrayList<>();
        long bytes = 0;
        for (ChunkRef r : distinct.values()) {
            if (content.chunks().contains(r.sha256())) {
                lost.remove(r.sha256()); // repaired meanwhile
                continue;
            }
            batch.add(r);
            bytes += r.sizeBytes();
            if (bytes >= REBUILD_BATCH_BYTES) {
                done.addAll(rebuildBatch(c, rs, holders, batch));
                batch.clear();
                bytes = 0;
            }
        }
        done.addAll(rebuildBatch(c, rs, holders, batch));
        if (!done.isEmpty()) {
            log.info("rebuilt {} chunk(s) of {} from its shards ({})", done.size(), c.root(), e);
        }
        return done;
    }

    private Set<String> rebuildBatch(Coded c, ReedSolomon rs, Map<Integer, String> holders, List<ChunkRef> batch) {
        Set<String> done = new HashSet<>();
        if (batch.isEmpty()) {
            return done;
        }
        int n = rs.dataShards() + rs.parityShards();
        Map<String, byte[][]> shards = new HashMap<>();
        batch.forEach(r -> shards.put(r.sha256(), new byte[n][]));
        // k cells asked at once for every chunk of the batch; then the others, one after the other, for what is short
        List<Map.Entry<Integer, String>> order = new ArrayList<>(holders.entrySet());
        int together = Math.min(rs.dataShards(), order.size());
        List<ShardFetcher.Want> all = batch.stream().map(r -> new ShardFetcher.Want(r.sha256(), rs.shardLength(r.sizeBytes())))
                .toList();
        try (ExecutorService fetchers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Map<String, byte[]>>> first = new ArrayList<>();
            for (Map.Entry<Integer, String> h : order.subList(0, together)) {
                first.add(fetchers.submit(() -> ShardFetcher.fetch(network, h.getValue(), c.erasure(), h.getKey(), all)));
            }
            for (int i = 0; i < together; i++) {
                int index = order.get(i).getKey();
                try {
                    first.get(i).get().forEach((chunk, shard) -> shards.get(chunk)[index] = shard);
                } catch (ExecutionException e) {
                    log.warn("fetching shards {} of {} failed", index, c.root(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return done;
                }
            }
        }
        for (Map.Entry<Integer, String> h : order.subList(together, order.size())) {
            List<ShardFetcher.Want> wants = all.stream().filter(w -> present(shards.get(w.chunkHash())) < rs.dataShards()).toList();
            if (wants.isEmpty()) {
                break;
            }
            ShardFetcher.fetch(network, h.getValue(), c.erasure(), h.getKey(), wants)
                    .forEach((chunk, shard) -> shards.get(chunk)[h.getKey()] = shard);
        }
        // decoded and stored several at a time: each store ends in an fsync, which would otherwise set the pace
        Set<String> stored = ConcurrentHashMap.newKeySet();
        try (ExecutorService writers = Executors.newVirtualThreadPerTaskExecutor()) {
            java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(WRITES_IN_FLIGHT);
            for (ChunkRef r : batch) {
                inFlight.acquireUninterruptibly();
                writers.execute(() -> {
                    try {
                        byte[] data = decode(rs, shards.get(r.sha256()), r, c, holders);
                        if (data != null && store(r.sha256(), data)) {
                            stored.add(r.sha256());
                        }
                    } finally {
                        inFlight.release();
                    }
                });
            }
        }
        done.addAll(stored);
        return done;
    }

    /** Stores a rebuilt chunk (held against the collector while it is written); true when stored. */
    private boolean store(String sha256, byte[] data) {
        content.inFlight().hold(sha256);
        try {
            content.chunks().write(sha256, data, 0, data.length);
            lost.remove(sha256);
            rebuilt.increment();
            return true;
        } catch (IOException ex) {
            log.error("storing rebuilt chunk {} failed", sha256, ex);
            return false;
        } finally {
            content.inFlight().release(sha256);
        }
    }

    /**
     * The chunk from its shards, checked against its hash; when the first k present do not give it (a cell sent a
     * wrong shard), the other shards are fetched and other choices of k tried. Null when none gives it.
     */
    private byte[] decode(ReedSolomon rs, byte[][] got, ChunkRef r, Coded c, Map<Integer, String> holders) {
        int k = rs.dataShards();
        byte[] data = tryDecode(rs, got, r, firstPresent(got, k));
        if (data != null || present(got) < k) {
            if (data == null) {
                log.warn("chunk {} of {}: {} of its shards could be fetched, {} are needed", r.sha256(), c.root(), present(got), k);
            }
            return data;
        }
        // some shard is wrong: fetch every shard there is, and try other choices of k
        for (Map.Entry<Integer, String> h : holders.entrySet()) {
            if (got[h.getKey()] == null) {
                byte[] s = ShardFetcher.fetch(network, h.getValue(), c.erasure(), h.getKey(),
                        List.of(new ShardFetcher.Want(r.sha256(), rs.shardLength(r.sizeBytes())))).get(r.sha256());
                got[h.getKey()] = s;
            }
        }
        List<Integer> available = new ArrayList<>();
        for (int i = 0; i < got.length; i++) {
            if (got[i] != null) {
                available.add(i);
            }
        }
        for (int[] choice : choicesLeavingOut(available, k, MAX_DECODE_TRIES)) {
            data = tryDecode(rs, got, r, choice);
            if (data != null) {
                badShards.increment();
                log.warn("chunk {} of {}: some of its shards did not agree with the rest; rebuilt from shards {}", r.sha256(),
                        c.root(), java.util.Arrays.toString(choice));
                return data;
            }
        }
        badShards.increment();
        log.warn("chunk {} of {}: no {} of its {} shards fetched give it back", r.sha256(), c.root(), k, available.size());
        return null;
    }

    static byte[] tryDecode(ReedSolomon rs, byte[][] got, ChunkRef r, int[] choice) {
        if (choice == null) {
            return null;
        }
        byte[][] use = new byte[got.length][];
        for (int i : choice) {
            use[i] = got[i];
        }
        rs.reconstruct(use);
        byte[] data = rs.join(use, r.sizeBytes());
        return Sha256.hexOf(data).equals(r.sha256()) ? data : null;
    }

    private static int present(byte[][] shards) {
        int n = 0;
        for (byte[] s : shards) {
            n += s == null ? 0 : 1;
        }
        return n;
    }

    private static int[] firstPresent(byte[][] shards, int k) {
        int[] out = new int[k];
        int found = 0;
        for (int i = 0; i < shards.length && found < k; i++) {
            if (shards[i] != null) {
                out[found++] = i;
            }
        }
        return found == k ? out : null;
    }

    /**
     * Choices of {@code k} of {@code items} to decode from when some item is wrong, at most {@code max}: first those
     * that leave out one item (each in turn), then two, and so on — one wrong shard among many is found in as many
     * tries as there are shards. Each choice is the first k items not left out.
     */
    static List<int[]> choicesLeavingOut(List<Integer> items, int k, int max) {
        List<int[]> out = new ArrayList<>();
        int n = items.size();
        for (int drop = 1; drop <= n - k && out.size() < max; drop++) {
            leaveOut(items, k, drop, 0, new ArrayList<>(), out, max);
        }
        return out;
    }

    private static void leaveOut(List<Integer> items, int k, int drop, int from, List<Integer> dropped, List<int[]> out, int max) {
        if (out.size() >= max) {
            return;
        }
        if (dropped.size() == drop) {
            int[] choice = new int[k];
            int at = 0;
            for (int i = 0; i < items.size() && at < k; i++) {
                if (!dropped.contains(i)) {
                    choice[at++] = items.get(i);
                }
            }
            if (out.stream().noneMatch(c -> java.util.Arrays.equals(c, choice))) {
                out.add(choice);
            }
            return;
        }
        for (int i = from; i < items.size(); i++) {
            dropped.add(i);
            leaveOut(items, k, drop, i + 1, dropped, out, max);
            dropped.remove(dropped.size() - 1);
        }
    }
}
