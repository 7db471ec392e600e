package io.celluler.cas.object;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;

import io.celluler.cas.chunk.ChunkBoundaries;
import io.celluler.cas.chunk.Chunker;
import io.celluler.cas.object.Manifest.ChunkRef;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.InFlightChunks;
import io.celluler.core.hash.Sha256;

/**
 * One upload's way into the chunk store: bytes arrive in pieces of any size on the caller's thread, which only
 * cuts them into chunks (FastCDC or fixed) and hands each chunk on. Each chunk is hashed on the CPU pool and, when
 * the store does not have it yet, written (temp, fsync, rename) on the I/O pool, while a serial stage feeds the
 * whole content's digests in order; so chunking, hashing, the content digest and the fsyncs of one upload overlap.
 * Memory is bounded: at most {@code maxPendingBytes} of chunks are in flight, and {@link #write} waits for room.
 *
 * <p>Every chunk is held in {@link InFlightChunks} from the moment its hash is known until {@link #close}, which
 * the caller calls after the manifest that references the chunks is committed (or to abort): the garbage collector
 * cannot remove a chunk under an upload. Chunks written for an upload that is then aborted stay until the
 * collector finds them unreferenced after its grace period.
 */
public final class Ingest implements AutoCloseable {

    /** What an upload stored. */
    public record Result(Manifest manifest, String md5Hex, int newChunks, long newBytes) {
    }

    private final ChunkStore store;
    private final InFlightChunks inFlight;
    private final Executor cpu;
    private final Executor io;
    private final Chunker chunker;
    private final long maxSizeBytes;
    private final Semaphore room;
    private final int roomPermits;
    private final MessageDigest contentSha = Sha256.newDigest();
    private final MessageDigest contentMd5;
    private final List<CompletableFuture<Stored>> chunks = new ArrayList<>();
    private final List<String> held = new ArrayList<>();
    private CompletableFuture<Void> digestTail = CompletableFuture.completedFuture(null);
    private boolean finished;
    private boolean closed;

    private record Stored(ChunkRef ref, boolean written) {
    }

    /**
     * @param md5 also compute the MD5 of the whole content (the S3 API's ETag)
     * @param maxSizeBytes the content may not be longer ({@link TooLargeException} as soon as it is)
     * @param maxPendingBytes chunk bytes in flight at most (at least twice the largest chunk)
     */
    public Ingest(ChunkStore store, InFlightChunks inFlight, ChunkBoundaries boundaries, Executor cpu, Executor io,
            boolean md5, long maxSizeBytes, long maxPendingBytes) {
        this.store = store;
        this.inFlight = inFlight;
        this.cpu = cpu;
        this.io = io;
        this.chunker = new Chunker(boundaries);
        this.maxSizeBytes = maxSizeBytes;
        // permits count KiB, so that a few GiB in flight still fit an int
        this.roomPermits = (int) Math.max(2L * ((boundaries.maxSize() + 1023) / 1024), maxPendingBytes / 1024);
        this.room = new Semaphore(roomPermits);
        try {
            this.contentMd5 = md5 ? MessageDigest.getInstance("MD5") : null;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    /** Bytes received so far. */
    public long sizeBytes() {
        return chunker.streamBytes();
    }

    /** Takes the next bytes of the content (waits while too many chunks are in flight). */
    public void write(byte[] data, int offset, int length) throws IOException {
        if (finished || closed) {
            throw new IllegalStateException("the upload is finished");
        }
        if (chunker.streamBytes() + length > maxSizeBytes) {
            throw new TooLargeException(maxSizeBytes);
        }
        failFast();
        try {
            chunker.write(data, offset, length, this::submit);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** The content is complete: waits for every chunk to be durable and returns the manifest. */
    public Result finish() throws IOException {
        if (finished) {
            throw new IllegalStateException("finish() was called already");
        }
        try {
            chunker.finish(this::submit);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        finished = true;
        List<ChunkRef> refs = new ArrayList<>(chunks.size());
        int newChunks = 0;
        long newBytes = 0;
        try {
            for (CompletableFuture<Stored> f : chunks) {
                Stored s = f.get();
                refs.add(s.ref());
                if (s.written()) {
                    newChunks++;
                    newBytes += s.ref().sizeBytes();
                }
            }
            digestTail.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the chunks were stored");
        } catch (ExecutionException e) {
            throw asIo(e.getCause());
        }
        String md5 = contentMd5 == null ? "" : java.util.HexFormat.of().formatHex(contentMd5.digest());
        return new Result(Manifest.of(Sha256.hex(contentSha.digest()), refs), md5, newChunks, newBytes);
    }

    /** Lets go of the chunks this upload holds (after its manifest is committed, or to abort). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // wait for stages in flight, so that a hold taken after this point cannot leak
        for (CompletableFuture<Stored> f : chunks) {
            try {
                f.join();
            } catch (RuntimeException failedAlready) {
                // its hold (if any) is in `held` too
            }
        }
        synchronized (held) {
            held.forEach(inFlight::release);
            held.clear();
        }
    }

    private void submit(byte[] buf, int offset, int length) {
        byte[] chunk = java.util.Arrays.copyOfRange(buf, offset, offset + length);
        int permits = Math.min(roomPermits, (length + 1023) / 1024);
        try {
            room.acquire(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("interrupted while waiting for room"));
        }
        CompletableFuture<Stored> stored = CompletableFuture.supplyAsync(() -> Sha256.hexOf(chunk), cpu)
                .thenApplyAsync(hash -> storeChunk(hash, chunk), io);
        chunks.add(stored);
        digestTail = digestTail.thenRunAsync(() -> {
            contentSha.update(chunk);
            if (contentMd5 != null) {
                contentMd5.update(chunk);
            }
        }, cpu);
        CompletableFuture.allOf(stored, digestTail).whenComplete((v, e) -> room.release(permits));
    }

    private Stored storeChunk(String hash, byte[] chunk) {
        inFlight.hold(hash);
        synchronized (held) {
            held.add(hash);
        }
        try {
            boolean written = store.write(hash, chunk, 0, chunk.length);
            return new Stored(new ChunkRef(hash, chunk.length), written);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A chunk that failed already fails the upload now, not at the end. */
    private void failFast() throws IOException {
        for (int i = chunks.size() - 1; i >= Math.max(0, chunks.size() - 8); i--) {
            CompletableFuture<Stored> f = chunks.get(i);
            if (f.isCompletedExceptionally()) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    throw asIo(e.getCause());
                }
            }
        }
    }

    private static IOException asIo(Throwable t) {
        if (t instanceof UncheckedIOException u) {
            return u.getCause();
        }
        if (t instanceof IOException io) {
            return io;
        }
        return new IOException(t.getMessage(), t);
    }

    /** The content exceeded the size allowed. */
    public static final class TooLargeException extends IOException {
        private final long maxSizeBytes;

        public TooLargeException(long maxSizeBytes) {
            super("the content exceeds the maximum of " + maxSizeBytes + " bytes");
            this.maxSizeBytes = maxSizeBytes;
        }

        public long maxSizeBytes() {
            return maxSizeBytes;
        }
    }
}
