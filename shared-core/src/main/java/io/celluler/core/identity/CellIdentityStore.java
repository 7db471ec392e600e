package io.celluler.core.identity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Keeps a cell's identity in {@code <dir>/cell.key}: created on first start, read on every later one.
 *
 * <p>The file holds the 32-byte Ed25519 private seed as hex after a header line, and is readable by its owner
 * only ({@code 0600}, folder {@code 0700}); like ssh, a key file that group or others can read is refused
 * rather than used. It is written to a temp file with those permissions first, fsynced, then renamed, so a
 * crash never leaves half a key.
 */
public final class CellIdentityStore {

    static final String FILE = "cell.key";
    private static final String HEADER = "# Celluler cell identity: Ed25519 private key seed (hex). Keep it secret.";
    private static final String PREFIX = "ed25519-seed: ";
    private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");

    private CellIdentityStore() {
    }

    /** The identity stored under {@code dir}, created there first if there is none. */
    public static CellIdentity loadOrCreate(Path dir, SecureRandom random) throws IOException {
        Path file = dir.resolve(FILE);
        if (Files.exists(file)) {
            return load(file);
        }
        createPrivateDirectory(dir);
        CellIdentity created = new CellIdentity(Ed25519.newPrivateSeed(random));
        Path tmp = Files.createTempFile(dir, FILE, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_RW));
        try {
            Files.writeString(tmp, HEADER + "\n" + PREFIX + HexFormat.of().formatHex(created.privateSeed()) + "\n",
                    StandardCharsets.US_ASCII);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException anotherProcessWon) {
                return load(file);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
        // two processes racing on first start: the file that won the rename is the identity
        return load(file);
    }

    static CellIdentity load(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (!OWNER_RW.containsAll(perms)) {
            throw new IOException(file + " is readable or writable by others (" + PosixFilePermissions.toString(perms)
                    + "); a cell key must be private: chmod 600 " + file);
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        for (String line : lines) {
            if (line.startsWith(PREFIX)) {
                String hex = line.substring(PREFIX.length()).strip();
                if (hex.length() != 2 * Ed25519.KEY_BYTES) {
                    break;
                }
                try {
                    return new CellIdentity(HexFormat.of().parseHex(hex));
                } catch (IllegalArgumentException notHex) {
                    break;
                }
            }
        }
        throw new IOException(file + " is not a Celluler cell key (expected a line '" + PREFIX + "<64 hex>')");
    }

    private static void createPrivateDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_RWX));
        }
        Files.setPosixFilePermissions(dir, OWNER_RWX);
    }
}
