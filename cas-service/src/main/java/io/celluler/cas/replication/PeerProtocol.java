package io.celluler.cas.replication;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import com.google.protobuf.ByteString;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.HasChunksResponse;
import io.celluler.proto.cas.v1.PeerChunkPiece;
import io.celluler.proto.cas.v1.PeerCopyWanted;
import io.celluler.proto.cas.v1.PeerFetchChunk;
import io.celluler.proto.cas.v1.PeerFetchManifest;
import io.celluler.proto.cas.v1.PeerManifestPage;
import io.celluler.proto.cas.v1.PeerReplicaState;
import io.celluler.proto.cas.v1.PeerReplicaStatus;
import io.celluler.proto.cas.v1.PeerReplicate;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers other cells' requests ({@code celluler/cas/v1/peer.proto}): which chunks this cell has, a chunk's bytes
 * (verified before any is sent), a manifest's pages, and copies kept for the caller — adopted, described and
 * released. The caller is the cell that signed the request (network-service authenticated it), so a cell can only
 * release the copies kept for itself. Every field is checked; a bad request gets INVALID_ARGUMENT naming it.
 */
public final class PeerProtocol {

    private static final Logger log = LoggerFactory.getLogger(PeerProtocol.class);
    static final int MAX_HAS = 10_000;
    static final int MAX_MANIFEST_PAGE = 20_000;
    /**
     * Chunk references a manifest from a peer may list at most: 16 GiB (the default largest object) in chunks of
     * 8 KiB, a quarter of FastCDC's default minimum. A peer announcing more is refused before anything is paged in.
     */
    static final int MAX_MANIFEST_CHUNKS = 2_000_000;

    private final ContentService content;
    private final ReplicaIndex replicas;
    private final Repairer repairer;
    private final PeerManifests manifests;
    private final ShardKeeper shards;
    private final ErasureIndex erasure;
    private final Clock clock = Clock.systemUTC();
    /** Large chunks recently served in pieces, at most {@value #RECENT_CHUNKS} (each at most 64 MiB). */
    private final java.util.LinkedHashMap<String, byte[]> recent = new java.util.LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, byte[]> eldest) {
            return size() > RECENT_CHUNKS;
        }
    };
    static final int RECENT_CHUNKS = 2;

    /** {@code network} and {@code repairer} may be null (a cell alone): then it answers, and adopts nothing. */
    public PeerProtocol(ContentService content, ReplicaIndex replicas, ErasureIndex erasure, PeerNetwork network,
            Repairer repairer) {
        this.content = content;
        this.replicas = replicas;
        this.erasure = erasure;
        this.repairer = repairer;
        this.manifests = new PeerManifests(content, network);
        this.shards = new ShardKeeper(content, erasure, network, manifests);
    }

    /** The keeper of shards for other cells that answers this protocol's shard requests. */
    ShardKeeper shards() {
        return shards;
    }

    /** The answer to {@code request} from cell {@code source}; a refusal is thrown as a status. */
    public PeerResponse handle(String source, PeerRequest request) {
        PeerResponse.Builder out = PeerResponse.newBuilder();
        switch (request.getKindCase()) {
            case HAS_CHUNKS -> out.setHasChunks(HasChunksResponse.newBuilder()
                    .addAllPresent(content.present(hashes(request.getHasChunks().getSha256List()))));
            case FETCH_CHUNK -> out.setChunkPiece(piece(request.getFetchChunk()));
            case FETCH_MANIFEST -> out.setManifestPage(page(request.getFetchManifest()));
            case REPLICATE -> out.setReplicaState(adopt(source, request.getReplicate()));
            case RELEASE -> {
                String root = root("release.root", request.getRelease().getRoot());
                if (replicas.release(root, source, clock.instant())) {
                    log.info("released the copy of {} kept for cell {}", root, source);
                }
                out.setReplicaState(PeerReplicaState.newBuilder().setRoot(root).setHeld(false));
            }
            case REPLICA_STATUS -> out.setReplicaState(state(source, request.getReplicaStatus()));
            case COPY_WANTED -> {
                PeerCopyWanted r = request.getCopyWanted();
                String root = root("copy_wanted.root", r.getRoot());
                if (r.hasShardIndex()) {
                    ShardKeeper.anyShardIndex("copy_wanted.shard_index", r.getShardIndex());
                }
                boolean wanted = r.hasShardIndex() ? erasure.wantsShardFrom(root, r.getShardIndex(), source, replicas)
                        : replicas.wantsCopyFrom(root, source);
                out.setReplicaState(PeerReplicaState.newBuilder().setRoot(root).setHeld(wanted));
            }
            case KEEP_SHARD -> out.setReplicaState(shards.keep(source, request.getKeepShard()));
            case SHARD_STATUS -> out.setReplicaState(shards.status(source, root("shard_status.root",
                    request.getShardStatus().getRoot()), request.getShardStatus().getShardIndex()));
            case RELEASE_SHARD -> out.setReplicaState(shards.release(source, root("release_shard.root",
                    request.getReleaseShard().getRoot()), request.getReleaseShard().getShardIndex()));
            case FETCH_SHARDS -> out.setShardPieces(shards.serve(request.getFetchShards()));
            default -> throw GrpcErrors.invalidArgument("kind", "one of has_chunks, fetch_chunk, fetch_manifest, replicate,"
                    + " release, replica_status, copy_wanted, keep_shard, shard_status, release_shard, fetch_shards");
        }
        return out.build();
    }

    private PeerChunkPiece piece(PeerFetchChunk r) {
        String h = hash("fetch_chunk.sha256", r.getSha256());
        if (r.getOffset() < 0) {
            throw GrpcErrors.invalidArgument("fetch_chunk.offset", "must not be negative");
        }
        if (r.getMaxBytes() < 1 || r.getMaxBytes() > Repairer.PIECE_BYTES) {
            throw GrpcErrors.invalidArgument("fetch_chunk.max_bytes", "must be between 1 and " + Repairer.PIECE_BYTES);
        }
        byte[] data;
        try {
            data = verifiedChunk(h);
        } catch (ChunkStore.MissingChunkException missingOrCorrupt) {
            return PeerChunkPiece.newBuilder().setSha256(h).setMissing(true).build();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("reading chunk " + h + ": " + e.getMessage()).asRuntimeException();
        }
        if (r.getOffset() >= data.length) {
            throw GrpcErrors.invalidArgument("fetch_chunk.offset", "must be below the chunk's size (" + data.length + ")");
        }
        int from = (int) r.getOffset();
        int n = Math.min(r.getMaxBytes(), data.length - from);
        return PeerChunkPiece.newBuilder().setSha256(h).setSizeBytes(data.length).setOffset(from)
                .setData(ByteString.copyFrom(data, from, n)).build();
    }

    /**
     * A chunk's verified bytes; the last few large ones are kept, so that the pieces of one large chunk (fixed-size
     * chunking: a 64 MiB chunk comes in 86 pieces) cost one read and one hash, not one each.
     */
    private byte[] verifiedChunk(String h) throws IOException {
        synchronized (recent) {
            byte[] cached = recent.get(h);
            if (cached != null) {
                return cached;
            }
        }
        byte[] data = content.chunks().read(h);
        if (data.length > Repairer.PIECE_BYTES) {
            synchronized (recent) {
                recent.put(h, data);
            }
        }
        return data;
    }

    private PeerManifestPage page(PeerFetchManifest r) {
        String root = root("fetch_manifest.root", r.getRoot());
        if (r.getFirstChunk() < 0) {
            throw GrpcErrors.invalidArgument("fetch_manifest.first_chunk", "must not be negative");
        }
        if (r.getMaxChunks() < 1 || r.getMaxChunks() > MAX_MANIFEST_PAGE) {
            throw GrpcErrors.invalidArgument("fetch_manifest.max_chunks", "must be between 1 and " + MAX_MANIFEST_PAGE);
        }
        Manifest m = content.manifest(root).map(StoredManifest::manifest).orElse(null);
        if (m == null) {
            return PeerManifestPage.newBuilder().setRoot(root).setMissing(true).build();
        }
        int from = Math.min(r.getFirstChunk(), m.chunks().size());
        int to = Math.min(m.chunks().size(), from + r.getMaxChunks());
        byte[] packed = Manifest.pack(m.chunks().subList(from, to));
        return PeerManifestPage.newBuilder().setRoot(root).setContentSha256(m.contentSha256()).setSizeBytes(m.sizeBytes())
                .setChunkCount(m.chunks().size()).setFirstChunk(from).setPackedChunks(ByteString.copyFrom(packed)).build();
    }

    /** Keeps a copy for {@code origin}: its manifest now (fetched from the origin unless stored here), its chunks soon. */
    private PeerReplicaState adopt(String origin, PeerReplicate r) {
        String root = root("replicate.root", r.getRoot());
        if (r.getSizeBytes() < 0 || r.getSizeBytes() > content.maxObjectSizeBytes()) {
            throw GrpcErrors.limitExceeded("replicate.size_bytes", "this cell keeps content of at most "
                    + content.maxObjectSizeBytes() + " bytes");
        }
        if (!replicas.holds(root, origin)) {
            Manifest m = content.manifest(root).map(StoredManifest::manifest).orElseGet(() -> manifests.fetch(origin, root));
            if (m.sizeBytes() > content.maxObjectSizeBytes()) {
                throw GrpcErrors.limitExceeded("replicate.size_bytes", "this cell keeps content of at most "
                        + content.maxObjectSizeBytes() + " bytes");
            }
            replicas.hold(m, origin, clock.instant());
            List<String> missing = missing(m);
            log.info("keeping a copy of {} ({} bytes) for cell {}: {} chunk(s) to fetch", root, m.sizeBytes(), origin,
                    missing.size());
            if (!missing.isEmpty() && !repairer.repairLater(missing, List.of(origin))) {
                log.info("the repair queue is full: the scrub will fetch the chunks of {}", root);
            }
        }
        return state(origin, PeerReplicaStatus.newBuilder().setRoot(root).build());
    }

    private PeerReplicaState state(String origin, PeerReplicaStatus r) {
        String root = root("replica_status.root", r.getRoot());
        PeerReplicaState.Builder s = PeerReplicaState.newBuilder().setRoot(root);
        if (replicas.holds(root, origin)) {
            content.manifest(root).ifPresent(m -> s.setHeld(true).setChunksMissing(missing(m.manifest()).size()));
        }
        return s.build();
    }

    /** The distinct chunks of {@code m} whose file is not here. */
    private List<String> missing(Manifest m) {
        Set<String> distinct = new LinkedHashSet<>();
        m.chunks().forEach(c -> distinct.add(c.sha256()));
        List<String> out = new ArrayList<>();
        for (String h : distinct) {
            if (!content.chunks().contains(h)) {
                out.add(h);
            }
        }
        return out;
    }

    static List<String> hashes(List<String> hashes) {
        if (hashes.isEmpty() || hashes.size() > MAX_HAS) {
            throw GrpcErrors.invalidArgument("has_chunks.sha256", "name 1 to " + MAX_HAS + " chunks");
        }
        for (int i = 0; i < hashes.size(); i++) {
            hash("has_chunks.sha256[" + i + "]", hashes.get(i));
        }
        return hashes;
    }

    static String hash(String field, String h) {
        if (!Sha256.isCanonicalHex(h)) {
            throw GrpcErrors.invalidArgument(field, "must be 64 lowercase hex characters");
        }
        return h;
    }

    static String root(String field, String root) {
        return hash(field, root);
    }
}
