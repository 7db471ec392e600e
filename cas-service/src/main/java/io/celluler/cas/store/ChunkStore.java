package io.celluler.cas.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import io.celluler.core.hash.Sha256;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chunks on the local filesystem, each in one file named by the SHA-256 of its bytes.
 *
 * <p>Layout under the root: {@code chunks/ab/cd/abcd…} (two levels of fan-out, 65,536 folders, keep folders
 * small at hundreds of millions of chunks) and {@code quarantine/} for chunks whose bytes no longer match their
 * name. A write goes to a temp file beside its final name ({@code .tmp-…}), is fsynced, renamed atomically to its
 * name, and the folder is fsynced: a chunk is whole under its name or absent, never partial. Temp files of writes
 * cut short by a crash are removed by the garbage collector's folder walk ({@link #removeStaleTemps}).
 *
 * <p>Every read hashes the bytes before it returns them: a chunk that does not match is moved to quarantine (kept
 * for inspection, never served again) and the read fails with {@link CorruptChunkException}, so that the caller
 * repairs it from a peer.
 */
public final class ChunkStore {

    private static final Logger log = LoggerFactory.getLogger(ChunkStore.class);

    private final Path chunks;
    private final Path quarantine;
    /** Names of writes in progress (beside their final name); never a canonical hash, so never read as a chunk. */
    static final String TMP_PREFIX = ".tmp-";

    private final AtomicLong tmpNames = new AtomicLong();
    private final AtomicLong corruptFound = new AtomicLong();

    public ChunkStore(Path root) {
        this.chunks = root.resolve("chunks");
        this.quarantine = root.resolve("quarantine");
        try {
            Files.createDirectories(chunks);
            Files.createDirectories(quarantine);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the chunk folder " + root, e);
        }
    }

    /** The file of a chunk (whether it is there or not). */
    public Path path(String sha256) {
        if (!Sha256.isCanonicalHex(sha256)) {
            throw new IllegalArgumentException("not a canonical SHA-256: " + sha256);
        }
        return chunks.resolve(sha256.substring(0, 2)).resolve(sha256.substring(2, 4)).resolve(sha256);
    }

    public boolean contains(String sha256) {
        return Files.isRegularFile(path(sha256));
    }

    /** Chunks found corrupt since start. */
    public long corruptFound() {
        return corruptFound.get();
    }

    /**
     * Stores a chunk under {@code sha256} (which the caller computed over exactly these bytes) unless it is there.
     * Durable when it returns.
     *
     * @return true when the file was written, false when the chunk was already stored
     */
    public boolean write(String sha256, byte[] buf, int offset, int length) throws IOException {
        Path target = path(sha256);
        if (Files.isRegularFile(target)) {
            return false;
        }
        // the temp file goes beside its final name (as git writes objects): the rename stays in one folder, and on
        // ext4 new inodes spread over the folders' block groups instead of all coming from one tmp/ folder's (the kernel's inode
        // search was ~16 % of the ingest's CPU with one tmp/ folder, ~13 % with this; docs/benchmarks.md)
        createDirectoriesDurably(target.getParent());
        Path part = target.resolveSibling(TMP_PREFIX + sha256 + "." + tmpNames.incrementAndGet());
        try {
            try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(buf, offset, length);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException raced) {
                return false;
            }
            fsyncDirectory(target.getParent());
            return true;
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /** The bytes of a chunk, verified against its name. */
    public byte[] read(String sha256) throws IOException {
        Path file = path(sha256);
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new MissingChunkException(sha256);
        }
        if (!Sha256.hexOf(data).equals(sha256)) {
            quarantine(sha256, "its bytes hash to " + Sha256.hexOf(data));
            throw new CorruptChunkException(sha256);
        }
        return data;
    }

    /** Size of a stored chunk's file, or -1 when it is not there. */
    public long size(String sha256) {
        try {
            return Files.size(path(sha256));
        } catch (IOException e) {
            return -1;
        }
    }

    /** When the chunk's file was last written or touched; null when it is not there. */
    public Instant modifiedAt(String sha256) {
        try {
            return Files.getLastModifiedTime(path(sha256)).toInstant();
        } catch (IOException e) {
            return null;
        }
    }

    /** Removes a chunk's file; false when it was not there. */
    public boolean delete(String sha256) throws IOException {
        return Files.deleteIfExists(path(sha256));
    }

    /** Moves a chunk whose bytes do not match its name out of the way (kept for inspection, never served). */
    public void quarantine(String sha256, String why) {
        corruptFound.incrementAndGet();
        Path target = quarantine.resolve(sha256 + "." + System.currentTimeMillis());
        try {
            Files.move(path(sha256), target, StandardCopyOption.ATOMIC_MOVE);
            log.warn("chunk {} is corrupt ({}): moved to {}", sha256, why, target);
        } catch (NoSuchFileException gone) {
            // another reader quarantined it first
        } catch (IOException | RuntimeException e) {
            log.warn("chunk {} is corrupt ({}) and could not be quarantined: {}", sha256, why, e.toString());
        }
    }

    /**
     * The names of the chunks stored in one fan-out folder: {@code folder} is 0..65535, the first four hex digits
     * of the names. Sweeps and anti-entropy walk the store one folder at a time (bounded work per pass).
     */
    public List<String> list(int folder) throws IOException {
        Path dir = folderPath(folder);
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(Sha256::isCanonicalHex).forEach(out::add);
        }
        return out;
    }

    /**
     * Removes the temp files of writes that never finished (the process stopped between create and rename) in one
     * fan-out folder, if older than {@code cutoff} and {@code removable} agrees for the chunk the temp file was
     * for (the collector checks, under the chunk's lock, that no upload is writing it now); returns how many.
     */
    public int removeStaleTemps(int folder, Instant cutoff, TempRemoval removable) throws Exception {
        Path dir = folderPath(folder);
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (!name.startsWith(TMP_PREFIX)) {
                    continue;
                }
                try {
                    int dot = name.indexOf('.', TMP_PREFIX.length());
                    String hash = dot < 0 ? "" : name.substring(TMP_PREFIX.length(), dot);
                    if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)
                            && removable.remove(hash, () -> Files.deleteIfExists(p))) {
                        removed++;
                    }
                } catch (NoSuchFileException renamedMeanwhile) {
                    // the write finished while we looked
                }
            }
        } catch (NoSuchFileException gone) {
            return removed;
        }
        return removed;
    }

    /** Decides whether the stale temp file of chunk {@code sha256} goes, and removes it with {@code delete} if so. */
    @FunctionalInterface
    public interface TempRemoval {
        boolean remove(String sha256, InFlightChunks.Removal delete) throws Exception;
    }

    private Path folderPath(int folder) {
        String hex = String.format("%04x", folder);
        return chunks.resolve(hex.substring(0, 2)).resolve(hex.substring(2));
    }

    /** Creates the fan-out folders, fsyncing each new folder's parent so that the new entries are durable too. */
    private static void createDirectoriesDurably(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        createDirectoriesDurably(dir.getParent());
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException createdMeanwhile) {
            return;
        }
        fsyncDirectory(dir.getParent());
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** A chunk that should be there is not. */
    public static class MissingChunkException extends IOException {
        private final String sha256;

        public MissingChunkException(String sha256) {
            super("chunk " + sha256 + " is not stored here");
            this.sha256 = sha256;
        }

        public String sha256() {
            return sha256;
        }
    }

    /** A chunk's bytes did not match its name; it was quarantined. */
    public static final class CorruptChunkException extends MissingChunkException {
        public CorruptChunkException(String sha256) {
            super(sha256);
        }

        @Override
        public String getMessage() {
            return "chunk " + sha256() + " was corrupt on disk (quarantined)";
        }
    }
}
