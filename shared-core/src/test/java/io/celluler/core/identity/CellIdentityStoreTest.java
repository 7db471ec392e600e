package io.celluler.core.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

import io.celluler.core.hash.Sha256;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CellIdentityStoreTest {

    @TempDir
    Path tmp;

    @Test
    void createdOnceOwnerOnlyAndTheSameOnEveryLaterStart() throws Exception {
        Path dir = tmp.resolve("network-service/identity");

        CellIdentity first = CellIdentityStore.loadOrCreate(dir, new SecureRandom());
        CellIdentity again = CellIdentityStore.loadOrCreate(dir, new SecureRandom());

        assertThat(again).isEqualTo(first);
        assertThat(first.cellId()).isEqualTo(Sha256.hexOf(first.publicKey())).hasSize(64);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("cell.key"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).containsExactly(dir.resolve("cell.key"));
        }
        assertThat(first.toString()).doesNotContain(java.util.HexFormat.of().formatHex(first.privateSeed()));
    }

    @Test
    void signaturesOfTheStoredKeyVerifyWithItsPublicKey() throws Exception {
        CellIdentity id = CellIdentityStore.loadOrCreate(tmp, new SecureRandom());
        byte[] msg = "join".getBytes();

        assertThat(Ed25519.verify(id.publicKey(), msg, id.sign(msg))).isTrue();
        assertThat(CellIdentity.cellIdOf(id.publicKey())).isEqualTo(id.cellId());
    }

    @Test
    void aKeyFileOthersCanReadIsRefused() throws Exception {
        CellIdentityStore.loadOrCreate(tmp, new SecureRandom());
        Files.setPosixFilePermissions(tmp.resolve("cell.key"), PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> CellIdentityStore.loadOrCreate(tmp, new SecureRandom()))
                .isInstanceOf(IOException.class).hasMessageContaining("chmod 600");
    }

    @Test
    void aDamagedKeyFileIsRefusedNotReplaced() throws Exception {
        CellIdentityStore.loadOrCreate(tmp, new SecureRandom());
        Files.writeString(tmp.resolve("cell.key"), "ed25519-seed: not-hex\n");

        assertThatThrownBy(() -> CellIdentityStore.loadOrCreate(tmp, new SecureRandom()))
                .isInstanceOf(IOException.class).hasMessageContaining("is not a Celluler cell key");
        assertThat(Files.readString(tmp.resolve("cell.key"))).contains("not-hex");
    }
}
