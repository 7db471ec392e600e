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

    private final ContentService content;
    private final ErasureIndex index;
    private final ReplicaIndex replicas;
    private final PeerNetwork network;
    private final Clock clock = Clock.systemUTC();
    private final Set<String> lost = ConcurrentHashMap.newKeySet();
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
            lost.add(h);
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
        cursor = page.size() < batch ? "" : page.get(page.size() - 1).root();
        for (Coded c : page) {
            contents++;
            Optional<StoredManifest> m = content.manifest(c.root());
            if (m.isEmpty() || replicas.ownReferences(c.root()) <= 0) {
                released += release(c);
                continue;
            }
            if (!lost.isEmpty()) {
                List<ChunkRef> mine = m.get().manifest().chunks().stream().filter(r -> lost.contains(r.sha256())).toList();
                if (!mine.isEmpty()) {
                    rebuiltNow += rebuild(c, mine, alive).size();
                }
            }
            Map<Integer, ShardCopy> shards = new HashMap<>();
            index.shards(c.root()).forEach(s -> shards.put(s.shardIndex(), s));
            Set<String> used = new HashSet<>();
            shards.values().forEach(s -> used.add(s.cellId()));
            int held = 0;
            List<String> ranked = Placement.rank(c.root(), peers);
            for (int i = 0; i < c.erasure().totalShards(); i++) {
                ShardCopy s = shards.get(i);
                if (s != null && alive.contains(s.cellId())) {
                    held += confirm(s.cellId(), c, m.get().manifest(), i, false) ? 1 : 0;
                    continue;
                }
                // not placed yet, or its cell is gone: the next live cell in rendezvous order that keeps no other index
                for (String cell : ranked) {
                    if (used.add(cell)) {
                        if (s != null) {
                            log.info("shard {} of {}: cell {} is gone, cell {} is asked to keep it", i, c.root(), s.cellId(), cell);
                        }
                        if (confirm(cell, c, m.get().manifest(), i, true)) {
                            held++;
                            requested++;
                            shardsRequested.increment();
                        }
                        break;
                    }
                }
            }
            if (held < c.erasure().totalShards()) {
                under++;
                log.warn("content {} ({}) has {} of its {} shard indexes kept by live cells ({} other cells with cas-service alive)",
                        c.root(), c.erasure(), held, c.erasure().totalShards(), peers.size());
            }
        }
        underProtected.set(under);
        return new Step(contents, requested, released, under, rebuiltNow);
    }

    /** Asks {@code cell} about its shard {@code i} of the content, and to keep it if it does not; records the answer. */
    private boolean confirm(String cell, Coded c, Manifest m, int i, boolean fresh) {
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
                return true;
            }
        } catch (StatusRuntimeException e) {
            log.debug("cell {} did not answer for its shard {} of {}: {}", cell, i, c.root(), e.getStatus());
        }
        return false;
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
            alive = new HashSet<>(network.casPeers());
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
        for (Map.Entry<Integer, String> h : holders.entrySet()) {
            List<ShardFetcher.Want> wants = batch.stream().filter(r -> present(shards.get(r.sha256())) < rs.dataShards())
                    .map(r -> new ShardFetcher.Want(r.sha256(), rs.shardLength(r.sizeBytes()))).toList();
            if (wants.isEmpty()) {
                break;
            }
            ShardFetcher.fetch(network, h.getValue(), c.erasure(), h.getKey(), wants)
                    .forEach((chunk, shard) -> shards.get(chunk)[h.getKey()] = shard);
        }
        for (ChunkRef r : batch) {
            byte[] data = decode(rs, shards.get(r.sha256()), r, c, holders);
            if (data == null) {
                continue;
            }
            content.inFlight().hold(r.sha256());
            try {
                content.chunks().write(r.sha256(), data, 0, data.length);
                done.add(r.sha256());
                lost.remove(r.sha256());
                rebuilt.increment();
            } catch (IOException ex) {
                log.error("storing rebuilt chunk {} failed", r.sha256(), ex);
            } finally {
                content.inFlight().release(r.sha256());
            }
        }
        return done;
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
        int tries = 0;
        for (int[] choice : combinations(available, k)) {
            if (++tries > MAX_DECODE_TRIES) {
                break;
            }
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

    private static byte[] tryDecode(ReedSolomon rs, byte[][] got, ChunkRef r, int[] choice) {
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

    /** The choices of {@code k} of {@code items}, in lexicographic order. */
    static List<int[]> combinations(List<Integer> items, int k) {
        List<int[]> out = new ArrayList<>();
        int[] pick = new int[k];
        combine(items, k, 0, 0, pick, out);
        return out;
    }

    private static void combine(List<Integer> items, int k, int from, int depth, int[] pick, List<int[]> out) {
        if (depth == k) {
            out.add(pick.clone());
            return;
        }
        for (int i = from; i <= items.size() - (k - depth) && out.size() <= MAX_DECODE_TRIES; i++) {
            pick[depth] = items.get(i);
            combine(items, k, i + 1, depth + 1, pick, out);
        }
    }
}
