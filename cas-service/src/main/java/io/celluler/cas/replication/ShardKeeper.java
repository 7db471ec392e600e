package io.celluler.cas.replication;

import java.io.IOException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.celluler.cas.erasure.ReedSolomon;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.replication.ErasureIndex.Hold;
import io.celluler.cas.replication.ErasureIndex.MappedShard;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.Erasure;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.PeerCopyWanted;
import io.celluler.proto.cas.v1.PeerFetchShards;
import io.celluler.proto.cas.v1.PeerKeepShard;
import io.celluler.proto.cas.v1.PeerReplicaState;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerShardPiece;
import io.celluler.proto.cas.v1.PeerShardPieces;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keeping side of erasure coding: shard i of other cells' content, and the answers to {@code fetch_shards}.
 * <ul>
 *   <li>A shard to keep ({@code keep_shard}) is recorded at once and fetched on a background thread from its origin,
 *       which encodes it from its chunks; each stored shard is a chunk of this cell's store (named by its own
 *       SHA-256, verified on every read), mapped to the chunk and index it is. Once all are here, they are referenced
 *       by a shard manifest (the shards in the content's chunk order), so the collector, the scrub and the verify
 *       pass treat them as any other chunk.</li>
 *   <li>A shard the scrub finds missing or corrupt is fetched again from the cells it is kept for, and stored only
 *       if it hashes to what it was: no other cell has the same shard by hash.</li>
 *   <li>{@code fetch_shards} is answered from a whole chunk when this cell has it (only the asked shard is encoded),
 *       else from a kept shard.</li>
 * </ul>
 */
final class ShardKeeper implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ShardKeeper.class);
    /** Shard bytes fetched together while adopting or repairing at most (the memory a batch takes). */
    static final long ADOPT_BATCH_BYTES = 32L << 20;

    private final ContentService content;
    private final ChunkStore chunks;
    private final ErasureIndex index;
    private final PeerNetwork network;
    private final PeerManifests manifests;
    private final Clock clock = Clock.systemUTC();
    /** Holds being adopted now, by key, with the chunks whose shard is still missing. */
    private final Map<String, Integer> adopting = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor background = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(64), Thread.ofPlatform().daemon().name("cas-shards").factory());
    /** Large shards recently served in pieces (a 64 MiB chunk's shard is encoded once, not once a piece). */
    private final LinkedHashMap<String, byte[]> recent = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
            return size() > 2;
        }
    };
    private String recheckRoot = "";
    private String recheckOrigin = "";
    private int recheckIndex = -1;

    ShardKeeper(ContentService content, ErasureIndex index, PeerNetwork network, PeerManifests manifests) {
        this.content = content;
        this.chunks = content.chunks();
        this.index = index;
        this.network = network;
        this.manifests = manifests;
    }

    private static String key(String root, String origin, int shardIndex) {
        return root + "/" + origin + "/" + shardIndex;
    }

    // ---- requests from the cells shards are kept for ------------------------------------------------------------

    PeerReplicaState keep(String origin, PeerKeepShard r) {
        String root = PeerProtocol.root("keep_shard.root", r.getRoot());
        Erasure e = erasure("keep_shard", r.getDataShards(), r.getParityShards());
        int i = shardIndex("keep_shard.shard_index", r.getShardIndex(), e);
        if (r.getSizeBytes() < 0) {
            throw GrpcErrors.invalidArgument("keep_shard.size_bytes", "must not be negative");
        }
        if (r.getSizeBytes() > content.maxObjectSizeBytes()) {
            throw GrpcErrors.limitExceeded("keep_shard.size_bytes", "this cell keeps content of at most "
                    + content.maxObjectSizeBytes() + " bytes");
        }
        if (r.getChunkCount() < 0 || r.getChunkCount() > PeerProtocol.MAX_MANIFEST_CHUNKS) {
            throw GrpcErrors.invalidArgument("keep_shard.chunk_count", "must be between 0 and " + PeerProtocol.MAX_MANIFEST_CHUNKS);
        }
        Hold before = index.hold(root, origin, i).orElse(null);
        if (before != null && (!before.erasure().equals(e) || before.sizeBytes() != r.getSizeBytes())) {
            // a hold left from content coded otherwise (a release was lost): the scheme asked for now wins
            index.release(root, origin, i, clock.instant());
            log.info("shard {} of {} was kept for cell {} coded {}; it asks for {} now", i, root, origin, before.erasure(), e);
        }
        if (index.startHold(root, origin, i, e, r.getSizeBytes(), r.getChunkCount(), clock.instant())) {
            log.info("keeping shard {} ({}) of {} ({} bytes) for cell {}", i, e, root, r.getSizeBytes(), origin);
        }
        index.hold(root, origin, i).filter(h -> h.shardRoot() == null).ifPresent(this::adoptLater);
        return status(origin, root, i);
    }

    PeerReplicaState status(String origin, String root, int shardIndex) {
        anyShardIndex("shard_status.shard_index", shardIndex);
        PeerReplicaState.Builder s = PeerReplicaState.newBuilder().setRoot(root);
        index.hold(root, origin, shardIndex).ifPresent(h -> s.setHeld(true).setChunksMissing(missing(h)));
        return s.build();
    }

    PeerReplicaState release(String origin, String root, int shardIndex) {
        anyShardIndex("release_shard.shard_index", shardIndex);
        if (index.release(root, origin, shardIndex, clock.instant())) {
            log.info("released shard {} of {} kept for cell {}", shardIndex, root, origin);
        }
        return PeerReplicaState.newBuilder().setRoot(root).setHeld(false).build();
    }

    /** Chunks of a hold whose shard is not here (all that are not fetched yet while it is adopted). */
    private int missing(Hold h) {
        if (h.shardRoot() == null) {
            return adopting.getOrDefault(key(h.root(), h.originCell(), h.shardIndex()), h.chunkCount());
        }
        return content.manifest(h.shardRoot()).map(m -> {
            Set<String> distinct = new LinkedHashSet<>();
            m.manifest().chunks().forEach(c -> distinct.add(c.sha256()));
            return (int) distinct.stream().filter(x -> !chunks.contains(x)).count();
        }).orElse(h.chunkCount());
    }

    // ---- fetch_shards, from any cell ---------------------------------------------------------------------------

    PeerShardPieces serve(PeerFetchShards r) {
        Erasure e = erasure("fetch_shards", r.getDataShards(), r.getParityShards());
        int i = shardIndex("fetch_shards.shard_index", r.getShardIndex(), e);
        if (r.getChunkSha256Count() < 1 || r.getChunkSha256Count() > ShardFetcher.MAX_CHUNKS) {
            throw GrpcErrors.invalidArgument("fetch_shards.chunk_sha256", "name 1 to " + ShardFetcher.MAX_CHUNKS + " chunks");
        }
        for (int c = 0; c < r.getChunkSha256Count(); c++) {
            PeerProtocol.hash("fetch_shards.chunk_sha256[" + c + "]", r.getChunkSha256(c));
        }
        if (r.getOffset() < 0) {
            throw GrpcErrors.invalidArgument("fetch_shards.offset", "must not be negative");
        }
        if (r.getMaxBytes() < 1 || r.getMaxBytes() > Repairer.PIECE_BYTES) {
            throw GrpcErrors.invalidArgument("fetch_shards.max_bytes", "must be between 1 and " + Repairer.PIECE_BYTES);
        }
        ReedSolomon rs = new ReedSolomon(e.dataShards(), e.parityShards());
        PeerShardPieces.Builder out = PeerShardPieces.newBuilder();
        int budget = r.getMaxBytes();
        for (int c = 0; c < r.getChunkSha256Count() && budget > 0; c++) {
            String h = r.getChunkSha256(c);
            byte[] shard = shard(rs, h, e, i);
            if (shard == null) {
                out.addPieces(PeerShardPiece.newBuilder().setChunkSha256(h).setMissing(true));
                continue;
            }
            long from = c == 0 ? r.getOffset() : 0;
            if (from >= shard.length) {
                throw GrpcErrors.invalidArgument("fetch_shards.offset", "must be below the first shard's size (" + shard.length + ")");
            }
            int n = (int) Math.min(budget, shard.length - from);
            if (c > 0 && n < shard.length) {
                break; // only the first shard of an answer is cut: the caller asks again from this one
            }
            out.addPieces(PeerShardPiece.newBuilder().setChunkSha256(h).setShardSize(shard.length).setOffset(from)
                    .setData(ByteString.copyFrom(shard, (int) from, n)));
            budget -= n;
        }
        return out.build();
    }

    /** Shard {@code i} of chunk {@code h}: encoded from the chunk when it is here, else as kept; null when neither. */
    private byte[] shard(ReedSolomon rs, String h, Erasure e, int i) {
        String cacheKey = h + "/" + e + "/" + i;
        synchronized (recent) {
            byte[] cached = recent.get(cacheKey);
            if (cached != null) {
                return cached;
            }
        }
        byte[] shard = null;
        try {
            if (chunks.contains(h)) {
                shard = rs.shard(chunks.read(h), i);
            }
        } catch (IOException missingOrCorrupt) {
            // the chunk turned out corrupt (quarantined): a kept shard may still answer
        }
        if (shard == null) {
            String kept = index.shardOf(h, e, i).orElse(null);
            try {
                shard = kept == null ? null : chunks.read(kept);
            } catch (IOException missingOrCorrupt) {
                shard = null;
            }
        }
        if (shard != null && shard.length > Repairer.PIECE_BYTES) {
            synchronized (recent) {
                recent.put(cacheKey, shard);
            }
        }
        return shard;
    }

    // ---- adopting, repairing, re-checking --------------------------------------------------------------------------

    /** Adopts a hold on the background thread unless that is underway; false when the queue is full (a pass retries). */
    boolean adoptLater(Hold h) {
        String key = key(h.root(), h.originCell(), h.shardIndex());
        if (adopting.putIfAbsent(key, h.chunkCount()) != null) {
            return true;
        }
        try {
            background.execute(() -> {
                try {
                    adopt(h);
                } catch (RuntimeException e) {
                    log.warn("keeping shard {} of {} for cell {} stopped: {}", h.shardIndex(), h.root(), h.originCell(), e.toString());
                } finally {
                    adopting.remove(key);
                }
            });
            return true;
        } catch (RejectedExecutionException full) {
            adopting.remove(key);
            return false;
        }
    }

    /**
     * Resumes holds whose shards are not all here (adoptions cut by a restart or a failed fetch) for origins alive now
     * (a hold for a cell that is gone waits for it); returns how many were queued.
     */
    int resume(Set<String> alive, int limit) {
        int n = 0;
        for (Hold h : index.incompleteHolds(alive, limit)) {
            if (adopting.containsKey(key(h.root(), h.originCell(), h.shardIndex()))) {
                continue;
            }
            if (!adoptLater(h)) {
                break; // the queue is full: the next pass goes on
            }
            n++;
        }
        return n;
    }

    /** Fetches every shard of {@code h} that is not here from its origin; completes the hold when all are. */
    void adopt(Hold h) {
        String key = key(h.root(), h.originCell(), h.shardIndex());
        Manifest m;
        try {
            m = manifests.fetch(h.originCell(), h.root());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.FAILED_PRECONDITION) {
                // the origin has no such content (any more): nothing to keep for it
                index.release(h.root(), h.originCell(), h.shardIndex(), clock.instant());
                log.info("cell {} no longer has {}: its shard {} is not kept", h.originCell(), h.root(), h.shardIndex());
            }
            throw e;
        }
        Erasure e = h.erasure();
        ReedSolomon rs = new ReedSolomon(e.dataShards(), e.parityShards());
        Map<String, Integer> distinct = new LinkedHashMap<>();
        m.chunks().forEach(c -> distinct.putIfAbsent(c.sha256(), c.sizeBytes()));
        // every shard this hold will reference is held against the collector until the shard manifest references
        // it: those here already (from an adoption cut short, or kept for another hold) as well as those fetched now
        Set<String> held = new HashSet<>();
        List<ShardFetcher.Want> need = new ArrayList<>();
        try {
            distinct.forEach((chunk, size) -> {
                String s = index.shardOf(chunk, e, h.shardIndex()).orElse(null);
                if (s != null && held.add(s)) {
                    content.inFlight().hold(s); // held first, then checked: the collector cannot slip in between
                }
                if (s == null || !chunks.contains(s)) {
                    need.add(new ShardFetcher.Want(chunk, rs.shardLength(size)));
                }
            });
            adopting.put(key, need.size());
            int left = need.size();
            for (List<ShardFetcher.Want> batch : ShardFetcher.batches(need, ADOPT_BATCH_BYTES)) {
                if (index.hold(h.root(), h.originCell(), h.shardIndex()).isEmpty()) {
                    log.info("shard {} of {} was released while it was fetched: stopped", h.shardIndex(), h.root());
                    return;
                }
                Map<String, byte[]> got = ShardFetcher.fetch(network, h.originCell(), e, h.shardIndex(), batch);
                for (ShardFetcher.Want w : batch) {
                    byte[] shard = got.get(w.chunkHash());
                    if (shard != null && store(w.chunkHash(), e, h.shardIndex(), shard, held)) {
                        left--;
                    }
                }
                adopting.put(key, left);
                if (got.size() < batch.size()) {
                    log.info("cell {} did not give {} shard(s) {} of {}: the next pass tries again", h.originCell(),
                            batch.size() - got.size(), h.shardIndex(), h.root());
                    return;
                }
            }
            complete(h, m, rs);
        } finally {
            held.forEach(content.inFlight()::release);
        }
    }

    /** Stores a shard (held against the collector) and maps it; false when it could not be written. */
    private boolean store(String chunk, Erasure e, int shardIndex, byte[] shard, Set<String> held) {
        String sha = Sha256.hexOf(shard);
        if (held.add(sha)) {
            content.inFlight().hold(sha);
        }
        try {
            chunks.write(sha, shard, 0, shard.length);
        } catch (IOException ex) {
            log.error("storing shard {} of chunk {} failed", shardIndex, chunk, ex);
            return false;
        }
        index.mapShard(chunk, e, shardIndex, sha);
        return true;
    }

    /** Every shard is here: the shard manifest (its content hash over the shards, each read back verified) is stored. */
    private void complete(Hold h, Manifest m, ReedSolomon rs) {
        MessageDigest whole = Sha256.newDigest();
        List<ChunkRef> refs = new ArrayList<>(m.chunks().size());
        for (ChunkRef c : m.chunks()) {
            String s = index.shardOf(c.sha256(), h.erasure(), h.shardIndex()).orElseThrow(() -> new IllegalStateException(
                    "shard " + h.shardIndex() + " of chunk " + c.sha256() + " is not mapped"));
            byte[] shard;
            try {
                shard = chunks.read(s);
            } catch (IOException lost) {
                log.warn("shard {} of chunk {} went missing while keeping {}: the next pass fetches it", h.shardIndex(),
                        c.sha256(), h.root());
                return;
            }
            if (shard.length != rs.shardLength(c.sizeBytes())) {
                throw new IllegalStateException("shard " + s + " has " + shard.length + " bytes, not " + rs.shardLength(c.sizeBytes()));
            }
            whole.update(shard);
            refs.add(new ChunkRef(s, shard.length));
        }
        Manifest shards = Manifest.of(Sha256.hex(whole.digest()), refs);
        if (index.completeHold(h, shards, clock.instant())) {
            log.info("keeping shard {} of {} for cell {}: all {} chunk shard(s) here ({} bytes)", h.shardIndex(), h.root(),
                    h.originCell(), refs.size(), shards.sizeBytes());
        }
    }

    /**
     * Shards the scrub found missing or corrupt (already known as {@code lost}): fetched again from the cells they
     * are kept for, stored only if they hash to what they were. Returns the shard hashes stored again.
     */
    Set<String> repair(List<MappedShard> lost, Set<String> alive) {
        Set<String> done = new HashSet<>();
        Map<String, List<MappedShard>> byScheme = new LinkedHashMap<>();
        lost.forEach(s -> byScheme.computeIfAbsent(s.erasure() + "/" + s.index(), k -> new ArrayList<>()).add(s));
        for (List<MappedShard> group : byScheme.values()) {
            Erasure e = group.get(0).erasure();
            int i = group.get(0).index();
            for (String origin : index.originsKeeping(e, i)) {
                List<ShardFetcher.Want> wants = new ArrayList<>();
                Map<String, MappedShard> byChunk = new LinkedHashMap<>();
                for (MappedShard s : group) {
                    if (!done.contains(s.shardHash()) && byChunk.putIfAbsent(s.chunkHash(), s) == null) {
                        wants.add(new ShardFetcher.Want(s.chunkHash(), content.index().chunkSize(s.shardHash()).orElse(0)));
                    }
                }
                if (wants.isEmpty() || !alive.contains(origin)) {
                    continue;
                }
                for (List<ShardFetcher.Want> batch : ShardFetcher.batches(wants, ADOPT_BATCH_BYTES)) {
                    Map<String, byte[]> got = ShardFetcher.fetch(network, origin, e, i, batch);
                    Set<String> held = new HashSet<>();
                    try {
                        got.forEach((chunk, shard) -> {
                            MappedShard s = byChunk.get(chunk);
                            if (!Sha256.hexOf(shard).equals(s.shardHash())) {
                                log.warn("cell {} sent shard {} of chunk {} that is not the one kept here: ignored", origin, i,
                                        chunk);
                            } else if (store(chunk, e, i, shard, held)) {
                                done.add(s.shardHash());
                            }
                        });
                    } finally {
                        held.forEach(content.inFlight()::release);
                    }
                }
            }
        }
        if (!done.isEmpty()) {
            log.info("fetched {} lost shard(s) again from the cells they are kept for", done.size());
        }
        return done;
    }

    /**
     * Shards kept here longer than {@code age}: each live origin is asked whether it still counts on them (a release
     * can be lost); those it does not are released. Returns how many went.
     */
    int recheck(Set<String> alive, Instant before, int limit) {
        List<Hold> page = index.holds(recheckRoot, recheckOrigin, recheckIndex, before, limit);
        if (page.size() < limit) {
            recheckRoot = "";
            recheckOrigin = "";
            recheckIndex = -1;
        } else {
            Hold last = page.get(page.size() - 1);
            recheckRoot = last.root();
            recheckOrigin = last.originCell();
            recheckIndex = last.shardIndex();
        }
        int dropped = 0;
        for (Hold h : page) {
            if (!alive.contains(h.originCell())) {
                continue;
            }
            try {
                boolean wanted = network.call(h.originCell(), PeerRequest.newBuilder().setCopyWanted(PeerCopyWanted.newBuilder()
                        .setRoot(h.root()).setShardIndex(h.shardIndex())).build()).getReplicaState().getHeld();
                if (!wanted && index.release(h.root(), h.originCell(), h.shardIndex(), clock.instant())) {
                    dropped++;
                    log.info("cell {} no longer wants shard {} of {} kept for it: released", h.originCell(), h.shardIndex(), h.root());
                }
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not say whether it wants shard {} of {}: {}", h.originCell(), h.shardIndex(), h.root(),
                        e.getStatus());
            }
        }
        return dropped;
    }

    // ---- checks ----------------------------------------------------------------------------------------------------

    static Erasure erasure(String message, int k, int m) {
        String field = message + (k < 2 || k > Erasure.MAX_SHARDS - 1 ? ".data_shards" : ".parity_shards");
        try {
            Erasure e = new Erasure(k, m);
            if (!e.none()) {
                return e;
            }
        } catch (IllegalArgumentException bad) {
            throw GrpcErrors.invalidArgument(field, bad.getMessage());
        }
        throw GrpcErrors.invalidArgument(field, "needs k >= 2 data and m >= 1 parity shards");
    }

    static void anyShardIndex(String field, int i) {
        if (i < 0 || i >= Erasure.MAX_SHARDS) {
            throw GrpcErrors.invalidArgument(field, "must be between 0 and " + (Erasure.MAX_SHARDS - 1));
        }
    }

    static int shardIndex(String field, int i, Erasure e) {
        if (i < 0 || i >= e.totalShards()) {
            throw GrpcErrors.invalidArgument(field, "must be between 0 and " + (e.totalShards() - 1));
        }
        return i;
    }

    @Override
    public void close() {
        background.shutdownNow();
    }
}
