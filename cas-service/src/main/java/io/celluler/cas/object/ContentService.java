package io.celluler.cas.object;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.celluler.cas.chunk.ChunkBoundaries;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.ContentIndex.PinResult;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.cas.store.Erasure;
import io.celluler.cas.store.InFlightChunks;
import io.celluler.cas.store.RemoteChunks;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Content on this cell: chunk files ({@link ChunkStore}), their references in the database ({@link ContentIndex})
 * and the uploads in progress ({@link InFlightChunks}). The APIs (gRPC, S3) go through here.
 */
@Component
public class ContentService implements DisposableBean {

    private final CasProperties props;
    private final ChunkStore chunks;
    private final ContentIndex index;
    private final InFlightChunks inFlight = new InFlightChunks();
    private final ChunkBoundaries defaultBoundaries;
    private final ExecutorService cpu;
    private final ExecutorService io;
    private final Clock clock = Clock.systemUTC();
    private final ObjectProvider<RemoteChunks> remote;

    public ContentService(CasProperties props, ContentIndex index, ObjectProvider<RemoteChunks> remote) {
        this.props = props;
        this.index = index;
        this.remote = remote;
        this.chunks = new ChunkStore(props.storeDir());
        this.defaultBoundaries = props.chunking().boundaries();
        this.cpu = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(), Thread.ofPlatform().daemon().name("cas-hash-", 1).factory());
        this.io = Executors.newFixedThreadPool(props.ioThreads(), Thread.ofPlatform().daemon().name("cas-write-", 1).factory());
    }

    public ChunkStore chunks() {
        return chunks;
    }

    public ContentIndex index() {
        return index;
    }

    public InFlightChunks inFlight() {
        return inFlight;
    }

    public long maxObjectSizeBytes() {
        return props.maxObjectSize().toBytes();
    }

    /** Starts an upload with the default chunking; {@code md5}: also the MD5 of the content (S3 ETags). */
    public Ingest begin(boolean md5) {
        return begin(defaultBoundaries, md5);
    }

    /** Starts an upload chunked the way {@code mode} says ({@code fastcdc} or {@code fixed}, the cell's sizes). */
    public Ingest begin(String mode, boolean md5) {
        return begin(props.chunking().boundaries(chunkingMode(mode)), md5);
    }

    /** The chunking mode named {@code mode}; IllegalArgumentException for another name. */
    public static CasProperties.Chunking.Mode chunkingMode(String mode) {
        return CasProperties.Chunking.Mode.valueOf(mode.toUpperCase(java.util.Locale.ROOT));
    }

    /** The cell's default chunking mode, as buckets name it. */
    public String defaultChunking() {
        return props.chunking().mode().name().toLowerCase(java.util.Locale.ROOT);
    }

    public Ingest begin(ChunkBoundaries boundaries, boolean md5) {
        return new Ingest(chunks, inFlight, boundaries, cpu, io, md5, props.maxObjectSize().toBytes(),
                props.ingestPendingSize().toBytes());
    }

    /**
     * Pins what an upload stored and lets go of its chunks (they are referenced now); {@code replicationFactor}:
     * copies wanted on distinct cells, this one included (0: the cell's default); {@code erasure}: shards wanted on
     * other cells instead (then the factor is 1 unless asked for).
     */
    public PinResult pin(Ingest upload, Ingest.Result stored, String mediaType, int replicationFactor, Erasure erasure) {
        try {
            int factor = replicationFactor != 0 ? replicationFactor : erasure.none() ? props.replication().defaultFactor() : 1;
            return index.pin(stored.manifest(), mediaType, factor, erasure, clock.instant());
        } finally {
            upload.close();
        }
    }

    public boolean unpin(String root) {
        return index.unpin(root, clock.instant());
    }

    public Optional<StoredManifest> manifest(String root) {
        return index.manifest(root);
    }

    /** Receives verified bytes of content, in order. */
    @FunctionalInterface
    public interface ByteSink {
        /** @return false to stop (the reader went away) */
        boolean accept(byte[] buf, int offset, int length) throws IOException;
    }

    /**
     * Reads {@code length} bytes of {@code m} from {@code offset}, one verified chunk at a time: a chunk is read
     * whole and checked against its hash before any of its bytes goes to {@code sink}. A chunk missing or corrupt
     * here (quarantined) is fetched from another cell that has it, verified, stored again, and the read goes on.
     *
     * @throws ChunkStore.MissingChunkException when a chunk is missing or corrupt here and no other cell gave it
     */
    public void read(Manifest m, long offset, long length, ByteSink sink) throws IOException {
        long end = Math.min(m.sizeBytes(), offset + length);
        long chunkStart = 0;
        for (ChunkRef c : m.chunks()) {
            long chunkEnd = chunkStart + c.sizeBytes();
            if (chunkEnd > offset && chunkStart < end) {
                byte[] data = readOrRepair(c.sha256(), m.root());
                if (data.length != c.sizeBytes()) {
                    // the chunk is right (its hash checked) but the manifest says another length: never cut bytes
                    // by a wrong length (a root names chunk hashes, not sizes; a manifest is checked where it enters)
                    throw new ChunkStore.MissingChunkException(c.sha256()) {
                        @Override
                        public String getMessage() {
                            return "manifest " + m.root() + " lists chunk " + c.sha256() + " as " + c.sizeBytes()
                                    + " bytes, but its bytes are " + data.length;
                        }
                    };
                }
                int from = (int) Math.max(0, offset - chunkStart);
                int to = (int) Math.min(c.sizeBytes(), end - chunkStart);
                if (!sink.accept(data, from, to - from)) {
                    return;
                }
            }
            if (chunkEnd >= end) {
                return;
            }
            chunkStart = chunkEnd;
        }
    }

    /**
     * A chunk's verified bytes; when it is missing or corrupt here, fetched again from another cell first (or rebuilt
     * from the shards of {@code root}, the content being read, when it is erasure-coded).
     */
    public byte[] readOrRepair(String sha256, String root) throws IOException {
        try {
            return chunks.read(sha256);
        } catch (ChunkStore.MissingChunkException lost) {
            RemoteChunks peers = remote.getIfAvailable();
            if (peers == null || !peers.fetch(sha256, root)) {
                throw lost;
            }
            return chunks.read(sha256);
        }
    }

    /** Copies wanted by default for content whose bucket or put does not say. */
    public int defaultReplicationFactor() {
        return props.replication().defaultFactor();
    }

    /** The largest replication factor a bucket or put may ask for. */
    public int maxReplicationFactor() {
        return props.replication().maxFactor();
    }

    /** Which of {@code hashes} have their chunk file here. */
    public List<String> present(List<String> hashes) {
        return hashes.stream().filter(chunks::contains).toList();
    }

    @Override
    public void destroy() {
        cpu.shutdownNow();
        io.shutdownNow();
    }
}
