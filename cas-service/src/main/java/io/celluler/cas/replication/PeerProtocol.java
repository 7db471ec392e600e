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
    private final PeerNetwork network;
    private final Repairer repairer;
    private final Clock clock = Clock.systemUTC();
    /** Large chunks recently served in pieces, at most {@value #RECENT_CHUNKS} (each at most 64 MiB). */
    private final java.util.LinkedHashMap<String, byte[]> recent = new java.util.LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, byte[]> eldest) {
            return size() > RECENT_CHUNKS;
        }
    };
    static final int RECENT_CHUNKS = 2;

    public PeerProtocol(ContentService content, ReplicaIndex replicas, PeerNetwork network, Repairer repairer) {
        this.content = content;
        this.replicas = replicas;
        this.network = network;
        this.repairer = repairer;
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
                String root = root("copy_wanted.root", request.getCopyWanted().getRoot());
                out.setReplicaState(PeerReplicaState.newBuilder().setRoot(root).setHeld(replicas.wantsCopyFrom(root, source)));
            }
            default -> throw GrpcErrors.invalidArgument("kind", "one of has_chunks, fetch_chunk, fetch_manifest, replicate,"
                    + " release, replica_status, copy_wanted");
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
            Manifest m = content.manifest(root).map(StoredManifest::manifest).orElseGet(() -> fetchManifest(origin, root));
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

    /** The manifest from {@code origin}, page by page, checked against its root; UNAVAILABLE when it cannot be had. */
    private Manifest fetchManifest(String origin, String root) {
        List<ChunkRef> refs = new ArrayList<>();
        PeerManifestPage first = null;
        int total;
        long bytes = 0;
        do {
            PeerManifestPage page = network.call(origin, PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder()
                    .setRoot(root).setFirstChunk(refs.size()).setMaxChunks(MAX_MANIFEST_PAGE)).build()).getManifestPage();
            if (page.getMissing()) {
                throw Status.FAILED_PRECONDITION.withDescription("cell " + origin + " asked for a copy of " + root
                        + " but does not have its manifest").asRuntimeException();
            }
            if (first == null) {
                first = page;
                if (page.getChunkCount() < 0 || page.getChunkCount() > MAX_MANIFEST_CHUNKS
                        || !Sha256.isCanonicalHex(page.getContentSha256())) {
                    throw badManifest(origin, root, "its header is out of bounds");
                }
            }
            total = first.getChunkCount();
            List<ChunkRef> entries;
            try {
                entries = Manifest.unpack(page.getPackedChunks().toByteArray());
            } catch (IllegalArgumentException e) {
                throw badManifest(origin, root, e.getMessage());
            }
            // every page but the last is full: a peer cannot hold this cell's handler with one reference a page
            if (page.getFirstChunk() != refs.size() || page.getChunkCount() != total
                    || entries.size() != Math.min(MAX_MANIFEST_PAGE, total - refs.size())) {
                throw badManifest(origin, root, "a page does not fit the ones before");
            }
            for (ChunkRef c : entries) {
                if (c.sizeBytes() < 1 || c.sizeBytes() > Repairer.MAX_CHUNK_BYTES) {
                    throw badManifest(origin, root, "a chunk of " + c.sizeBytes() + " bytes");
                }
                bytes += c.sizeBytes();
            }
            if (bytes > content.maxObjectSizeBytes()) {
                throw GrpcErrors.limitExceeded("replicate.size_bytes", "this cell keeps content of at most "
                        + content.maxObjectSizeBytes() + " bytes");
            }
            refs.addAll(entries); // every round adds at least one reference until the total: the loop ends
        } while (refs.size() < total);
        Manifest m = new Manifest(root, first.getContentSha256(), first.getSizeBytes(), refs);
        if (!m.consistent()) {
            throw badManifest(origin, root, "its chunks do not hash to its root");
        }
        // the root names the chunk hashes, not their sizes: sizes of chunks stored here must match what it says
        // (those fetched later are checked when they arrive, against the size recorded from this manifest)
        for (ChunkRef c : refs) {
            long stored = content.chunks().size(c.sha256());
            if (stored >= 0 && stored != c.sizeBytes()) {
                throw badManifest(origin, root, "chunk " + c.sha256() + " has " + stored + " bytes here, not " + c.sizeBytes());
            }
        }
        return m;
    }

    private static StatusRuntimeException badManifest(String origin, String root, String why) {
        log.warn("cell {} sent a bad manifest for {}: {}", origin, root, why);
        return Status.INVALID_ARGUMENT.withDescription("replicate.root: the manifest of " + root + " from cell " + origin
                + " does not verify: " + why).asRuntimeException();
    }

    private static List<String> hashes(List<String> hashes) {
        if (hashes.isEmpty() || hashes.size() > MAX_HAS) {
            throw GrpcErrors.invalidArgument("has_chunks.sha256", "name 1 to " + MAX_HAS + " chunks");
        }
        for (int i = 0; i < hashes.size(); i++) {
            hash("has_chunks.sha256[" + i + "]", hashes.get(i));
        }
        return hashes;
    }

    private static String hash(String field, String h) {
        if (!Sha256.isCanonicalHex(h)) {
            throw GrpcErrors.invalidArgument(field, "must be 64 lowercase hex characters");
        }
        return h;
    }

    private static String root(String field, String root) {
        return hash(field, root);
    }
}
