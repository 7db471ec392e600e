package io.celluler.cas.replication;

import java.util.ArrayList;
import java.util.List;

import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.PeerFetchManifest;
import io.celluler.proto.cas.v1.PeerManifestPage;
import io.celluler.proto.cas.v1.PeerRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Manifests fetched from other cells (for copies and shards kept for them), page by page, each checked: bounded
 * header, pages that fit, chunk sizes in bounds, the chunk list hashing to the root asked for.
 */
final class PeerManifests {

    private static final Logger log = LoggerFactory.getLogger(PeerManifests.class);

    private final ContentService content;
    private final PeerNetwork network;

    PeerManifests(ContentService content, PeerNetwork network) {
        this.content = content;
        this.network = network;
    }

    /** The manifest from {@code origin}, page by page, checked against its root; UNAVAILABLE when it cannot be had. */
    Manifest fetch(String origin, String root) {
        List<ChunkRef> refs = new ArrayList<>();
        PeerManifestPage first = null;
        int total;
        long bytes = 0;
        do {
            PeerManifestPage page = network.call(origin, PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder()
                    .setRoot(root).setFirstChunk(refs.size()).setMaxChunks(PeerProtocol.MAX_MANIFEST_PAGE)).build()).getManifestPage();
            if (page.getMissing()) {
                throw Status.FAILED_PRECONDITION.withDescription("cell " + origin + " asked for a copy of " + root
                        + " but does not have its manifest").asRuntimeException();
            }
            if (first == null) {
                first = page;
                if (page.getChunkCount() < 0 || page.getChunkCount() > PeerProtocol.MAX_MANIFEST_CHUNKS
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
                    || entries.size() != Math.min(PeerProtocol.MAX_MANIFEST_PAGE, total - refs.size())) {
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

}
