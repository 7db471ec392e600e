package io.celluler.cas.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.stream.Stream;

import io.celluler.core.hash.Sha256;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Blob bytes on the local filesystem, addressed by their SHA-256.
 *
 * <p>Layout: {@code <root>/sha256/ab/cd/abcd…} (two levels of fan-out keep directories small) and
 * {@code <root>/tmp/} for uploads in progress. A write goes to a temp file on the same filesystem while it
 * is hashed; once complete it is fsynced, renamed atomically to its address and the parent directory is
 * fsynced, so a blob is either whole under its address or absent — never partial.
 */
public final class BlobFileStore {

    private static final Logger log = LoggerFactory.getLogger(BlobFileStore.class);

    private final Path blobs;
    private final Path tmp;

    public BlobFileStore(Path root) {
        this.blobs = root.resolve("sha256");
        this.tmp = root.resolve("tmp");
        try {
            Files.createDirectories(blobs);
            Files.createDirectories(tmp);
            // uploads that were in progress when the process stopped can never complete: drop them
            try (Stream<Path> stale = Files.list(tmp)) {
                for (Path p : (Iterable<Path>) stale::iterator) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare blob directory " + root, e);
        }
    }

    /** Starts an upload into a fresh temp file. */
    public Upload begin() throws IOException {
        return new Upload(Files.createTempFile(tmp, "upload-", ".part"));
    }

    /** The file holding a blob, if it is stored. The hash must be canonical hex (callers validate). */
    public Path path(String sha256) {
        if (!Sha256.isCanonicalHex(sha256)) {
            throw new IllegalArgumentException("not a canonical SHA-256: " + sha256);
        }
        return blobs.resolve(sha256.substring(0, 2)).resolve(sha256.substring(2, 4)).resolve(sha256);
    }

    public boolean contains(String sha256) {
        return Files.isRegularFile(path(sha256));
    }

    public InputStream open(String sha256) throws IOException {
        return Files.newInputStream(path(sha256));
    }

    /** One upload: bytes are written and hashed as they arrive; nothing is visible until {@link #commit()}. */
    public final class Upload implements AutoCloseable {

        private final Path file;
        private final FileChannel channel;
        private final MessageDigest digest = Sha256.newDigest();
        private long sizeBytes;
        private String sha256;
        private boolean done;

        private Upload(Path file) throws IOException {
            this.file = file;
            this.channel = FileChannel.open(file, StandardOpenOption.WRITE);
        }

        public void write(ByteBuffer data) throws IOException {
            if (sha256 != null) {
                throw new IllegalStateException("upload already finished");
            }
            digest.update(data.duplicate());
            sizeBytes += data.remaining();
            while (data.hasRemaining()) {
                channel.write(data);
            }
        }

        public long sizeBytes() {
            return sizeBytes;
        }

        /** Makes the bytes durable in the temp file and returns their hash. */
        public String finish() throws IOException {
            if (sha256 == null) {
                channel.force(true);
                channel.close();
                sha256 = Sha256.hex(digest.digest());
            }
            return sha256;
        }

        /**
         * Moves the finished file to its address. Returns false when the same bytes were already stored
         * (the temp file is dropped: content addressing makes the two identical).
         */
        public boolean commit() throws IOException {
            String hash = finish();
            Path target = path(hash);
            done = true;
            if (Files.exists(target)) {
                Files.deleteIfExists(file);
                return false;
            }
            createDirectoriesDurably(target.getParent());
            try {
                Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException raced) {
                Files.deleteIfExists(file);
                return false;
            }
            fsyncDirectory(target.getParent());
            return true;
        }

        /**
         * Drops the upload; nothing of it stays (a temp file that cannot be deleted now is deleted at the next
         * start). Safe to call more than once, and after commit; never throws.
         */
        public void abort() {
            if (done) {
                return;
            }
            done = true;
            try {
                channel.close();
                Files.deleteIfExists(file);
            } catch (IOException e) {
                log.warn("cannot remove upload {} now: {}", file, e.getMessage());
            }
        }

        @Override
        public void close() {
            abort();
        }
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
        } catch (IOException e) {
            // some filesystems do not allow opening a directory; the rename is still atomic there
            if (!System.getProperty("os.name", "").toLowerCase().contains("win")) {
                throw e;
            }
        }
    }
}
