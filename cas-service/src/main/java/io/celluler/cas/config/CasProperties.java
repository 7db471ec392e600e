package io.celluler.cas.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.celluler.cas.chunk.ChunkBoundaries;
import io.celluler.cas.chunk.FastCdc;
import io.celluler.cas.chunk.FixedSize;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * cas-service settings ({@code celluler.cas.*}).
 *
 * @param storeDir         where chunk files live: {@code <storeDir>/chunks/<2 hex>/<2 hex>/<64 hex>}, with
 *                         {@code tmp/} (writes in progress, same filesystem so the final rename is atomic) and
 *                         {@code quarantine/} (chunks found corrupt) beside
 * @param maxObjectSize    the largest content one put accepts; larger is refused with RESOURCE_EXHAUSTED as soon as
 *                         the stream passes it, and nothing is pinned
 * @param readChunkSize    bytes per Get response message (at most 2 MiB: inside the 4 MiB inbound limit of default
 *                         gRPC clients, with room for the metadata of the first)
 * @param chunking         how content is cut into chunks by default
 * @param ingestPendingSize chunk bytes of one upload in flight (hashing, writing) at most
 * @param ioThreads        threads that write and fsync chunks (fsyncs wait on the disk, not the CPU: several in
 *                         parallel multiply what one disk queue does; measured here 1.5k fsyncs/s with one, 6.4k
 *                         with 16)
 * @param gc               garbage collection
 * @param s3               the S3-compatible API on the HTTP port
 * @param replication      copies on other cells, and repair of lost or corrupt chunks from them
 * @param lifecycle        the worker that applies buckets' lifecycle rules
 */
@Validated
@ConfigurationProperties("celluler.cas")
public record CasProperties(@NotNull Path storeDir, @NotNull DataSize maxObjectSize, @NotNull DataSize readChunkSize,
        @NotNull @Valid Chunking chunking, @NotNull DataSize ingestPendingSize, @Min(1) int ioThreads, @NotNull @Valid Gc gc,
        @NotNull @Valid S3 s3, @NotNull @Valid Replication replication, @NotNull @Valid Lifecycle lifecycle) {

    public CasProperties {
        if (maxObjectSize != null && maxObjectSize.toBytes() < 1) {
            throw new IllegalArgumentException("celluler.cas.max-object-size must be at least 1 byte");
        }
        if (readChunkSize != null && (readChunkSize.toBytes() < 1 || readChunkSize.toBytes() > 2L * 1024 * 1024)) {
            throw new IllegalArgumentException("celluler.cas.read-chunk-size must be between 1 byte and 2MB");
        }
    }

    /**
     * @param mode    {@code fastcdc} (content-defined: boundaries follow the content, so an edit changes only the
     *                chunks around it) or {@code fixed} (every {@code fixed-size} bytes)
     * @param minSize FastCDC: smallest chunk
     * @param avgSize FastCDC: target average (a power of two). 64 KiB: an edit of a byte costs ~64–128 KiB of new
     *                chunks, and 1 GiB is ~16,000 chunks (files and rows)
     * @param maxSize FastCDC: largest chunk
     * @param fixedSize fixed: the chunk size (the seed's segments are 64 MB)
     */
    public record Chunking(@NotNull Mode mode, @NotNull DataSize minSize, @NotNull DataSize avgSize,
            @NotNull DataSize maxSize, @NotNull DataSize fixedSize) {

        public enum Mode { FASTCDC, FIXED }

        public Chunking {
            if (mode != null && minSize != null && avgSize != null && maxSize != null && fixedSize != null) {
                try {
                    boundariesOf(mode, minSize, avgSize, maxSize, fixedSize);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new IllegalArgumentException("celluler.cas.chunking: " + e.getMessage(), e);
                }
            }
        }

        /** The boundaries these settings describe. */
        public ChunkBoundaries boundaries() {
            return boundaries(mode);
        }

        /** The boundaries of {@code other} mode with these sizes (a bucket may chunk otherwise than the default). */
        public ChunkBoundaries boundaries(Mode other) {
            return boundariesOf(other, minSize, avgSize, maxSize, fixedSize);
        }

        private static ChunkBoundaries boundariesOf(Mode mode, DataSize min, DataSize avg, DataSize max, DataSize fixed) {
            return mode == Mode.FIXED ? new FixedSize(Math.toIntExact(fixed.toBytes()))
                    : new FastCdc(Math.toIntExact(min.toBytes()), Math.toIntExact(avg.toBytes()), Math.toIntExact(max.toBytes()));
        }
    }

    /**
     * @param interval     time between passes
     * @param grace        how long a chunk or manifest stays after its last reference went (an upload that takes
     *                     longer than this still loses nothing: its chunks are held in memory while it runs)
     * @param batch        manifests, chunks and files looked at per pass at most (bounded work: a pass never stops
     *                     the world, and writes go on during it)
     * @param foldersPerPass fan-out folders of the store walked per pass for files without a database row (left by
     *                     a crash between the fsync and the commit)
     */
    public record Gc(boolean enabled, @NotNull Duration interval, @NotNull Duration grace, @Min(1) int batch,
            @Min(1) int foldersPerPass) {
    }

    /**
     * @param networkAddress host:port of this cell's network-service (gRPC), through which cells ask each other for
     *                       chunks and copies; blank: this cell works alone (no copies elsewhere, no repair from
     *                       peers, content asking for more than one copy is kept here only and logged)
     * @param defaultFactor  copies (this cell's included) of content whose bucket or put does not say
     * @param maxFactor      the largest factor a bucket or put may ask for
     * @param interval       time between anti-entropy passes (placement of copies, scrub of this cell's chunks)
     * @param scrubBatch     chunk rows whose file is checked for presence per pass (a stat each)
     * @param verifyPerPass  chunk bytes read back and re-hashed per pass (bit rot found without waiting for a read)
     * @param placementBatch replicated manifests whose copies are checked per pass
     * @param callTimeout    how long one request to another cell may take
     * @param handlerThreads threads answering other cells' requests (reads of chunks, copies to adopt)
     * @param holdRecheckAfter age after which a copy kept for another cell is re-checked with it (does it still
     *                       want it? a release can be lost); {@code placement-batch} of them per pass
     */
    public record Replication(String networkAddress, @Min(1) int defaultFactor, @Min(1) int maxFactor,
            @NotNull Duration interval, @Min(1) int scrubBatch, @NotNull DataSize verifyPerPass, @Min(1) int placementBatch,
            @NotNull Duration callTimeout, @Min(1) int handlerThreads, @NotNull Duration holdRecheckAfter) {

        public Replication {
            if (defaultFactor > maxFactor) {
                throw new IllegalArgumentException("celluler.cas.replication.default-factor (" + defaultFactor
                        + ") must not exceed max-factor (" + maxFactor + ")");
            }
        }

        /** Whether this cell talks to others (a network-service address is set). */
        public boolean networked() {
            return networkAddress != null && !networkAddress.isBlank();
        }
    }

    /**
     * @param interval time between passes of the lifecycle worker (S3 applies rules once a day; rules count whole days)
     * @param batch    versions, markers and uploads acted on per rule and pass at most
     */
    public record Lifecycle(@NotNull Duration interval, @Min(1) int batch) {
    }

    /**
     * @param enabled whether the HTTP port serves the S3 API (path-style: {@code http://host:8106/<bucket>/<key>})
     * @param region  the one region this cell answers for (clients sign requests for it)
     * @param keys    access keys and the tenant each acts for (a tenant sees only its own buckets); the embedded
     *                default has one development key, to be replaced on any shared machine
     */
    public record S3(boolean enabled, @NotBlank String region, @NotNull List<@Valid AccessKey> keys) {
    }

    /** An S3 access key: the id clients send, the secret they sign with, and the tenant it acts for. */
    public record AccessKey(@NotBlank String accessKeyId, @NotBlank String secretAccessKey, @NotBlank String tenant) {

        @Override
        public String toString() {
            return "AccessKey[" + accessKeyId + " for " + tenant + "]"; // never the secret
        }
    }
}
