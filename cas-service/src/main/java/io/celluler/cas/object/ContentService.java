package io.celluler.cas.object;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import io.celluler.cas.chunk.ChunkBoundaries;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.ContentIndex.PinResult;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.cas.store.InFlightChunks;
import org.springframework.beans.factory.DisposableBean;
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

    public ContentService(CasProperties props, ContentIndex index) {
        this.props = props;
        this.index = index;
        this.chunks = new ChunkStore(props.storeDir());
        this.defaultBoundaries = props.chunking().boundaries();
        this.cpu = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(), named("cas-hash"));
        this.io = Executors.newFixedThreadPool(props.ioThreads(), named("cas-write"));
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

    public Ingest begin(ChunkBoundaries boundaries, boolean md5) {
        return new Ingest(chunks, inFlight, boundaries, cpu, io, md5, props.maxObjectSize().toBytes(),
                props.ingestPendingSize().toBytes());
    }

    /** Pins what an upload stored and lets go of its chunks (they are referenced now). */
    public PinResult pin(Ingest upload, Ingest.Result stored, String mediaType) {
        try {
            return index.pin(stored.manifest(), mediaType, clock.instant());
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
     * whole and checked against its hash before any of its bytes goes to {@code sink}.
     *
     * @throws ChunkStore.MissingChunkException when a chunk is missing or corrupt (quarantined) on this cell
     */
    public void read(Manifest m, long offset, long length, ByteSink sink) throws IOException {
        long end = Math.min(m.sizeBytes(), offset + length);
        long chunkStart = 0;
        for (ChunkRef c : m.chunks()) {
            long chunkEnd = chunkStart + c.sizeBytes();
            if (chunkEnd > offset && chunkStart < end) {
                byte[] data = chunks.read(c.sha256());
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

    /** Which of {@code hashes} have their chunk file here. */
    public List<String> present(List<String> hashes) {
        return hashes.stream().filter(chunks::contains).toList();
    }

    @Override
    public void destroy() {
        cpu.shutdownNow();
        io.shutdownNow();
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
