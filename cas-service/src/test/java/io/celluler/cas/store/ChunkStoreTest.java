package io.celluler.cas.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import io.celluler.core.hash.Sha256;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkStoreTest {

    @TempDir
    Path root;

    @Test
    void aChunkIsWrittenOnceUnderItsHashAndReadBackVerified() throws Exception {
        ChunkStore store = new ChunkStore(root);
        byte[] data = "some chunk".getBytes();
        String h = Sha256.hexOf(data);

        assertThat(store.write(h, data, 0, data.length)).isTrue();
        assertThat(store.write(h, data, 0, data.length)).isFalse();

        assertThat(store.read(h)).isEqualTo(data);
        assertThat(store.path(h)).isEqualTo(root.resolve("chunks").resolve(h.substring(0, 2)).resolve(h.substring(2, 4)).resolve(h));
        assertThat(store.list(Integer.parseInt(h.substring(0, 4), 16))).containsExactly(h);
        try (var folder = Files.list(store.path(h).getParent())) {
            assertThat(folder.map(p -> p.getFileName().toString())).containsExactly(h); // no temp file left
        }
    }

    @Test
    void aCorruptChunkIsQuarantinedAndNeverReturned() throws Exception {
        ChunkStore store = new ChunkStore(root);
        byte[] data = new byte[1000];
        String h = Sha256.hexOf(data);
        store.write(h, data, 0, data.length);
        Files.write(store.path(h), new byte[999]);

        assertThatThrownBy(() -> store.read(h)).isInstanceOf(ChunkStore.CorruptChunkException.class).hasMessageContaining(h);
        assertThat(store.contains(h)).isFalse();
        assertThat(store.corruptFound()).isEqualTo(1);
        try (var q = Files.list(root.resolve("quarantine"))) {
            assertThat(q).hasSize(1);
        }
        // missing now, and a later read says so; a new write heals it
        assertThatThrownBy(() -> store.read(h)).isInstanceOf(ChunkStore.MissingChunkException.class)
                .isNotInstanceOf(ChunkStore.CorruptChunkException.class);
        assertThat(store.write(h, data, 0, data.length)).isTrue();
        assertThat(store.read(h)).isEqualTo(data);
    }

    @Test
    void tempFilesOfInterruptedWritesGoOnceOlderThanTheCutoff() throws Exception {
        ChunkStore store = new ChunkStore(root);
        byte[] data = "x".getBytes();
        String h = Sha256.hexOf(data);
        store.write(h, data, 0, data.length);
        Path folder = store.path(h).getParent();
        Path old = Files.write(folder.resolve(ChunkStore.TMP_PREFIX + h + ".7"), new byte[10]);
        Path fresh = Files.write(folder.resolve(ChunkStore.TMP_PREFIX + h + ".8"), new byte[10]);
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(7200)));
        int index = Integer.parseInt(h.substring(0, 4), 16);

        // a temp file whose chunk is being written (the collector's check says no) stays, however old
        assertThat(store.removeStaleTemps(index, java.time.Instant.now().minusSeconds(3600), (hash, delete) -> false)).isZero();
        assertThat(old).exists();
        assertThat(store.removeStaleTemps(index, java.time.Instant.now().minusSeconds(3600), (hash, delete) -> {
            assertThat(hash).isEqualTo(h);
            return delete.remove();
        })).isEqualTo(1);

        assertThat(old).doesNotExist();
        assertThat(fresh).exists();
        assertThat(store.list(index)).containsExactly(h); // temp files are never listed as chunks
    }

    @Test
    void namesThatAreNotHashesAreRefused() {
        ChunkStore store = new ChunkStore(root);
        assertThatThrownBy(() -> store.path("../../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
    }
}
