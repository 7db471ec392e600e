package io.celluler.cas.chunk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.celluler.core.hash.Sha256;
import org.junit.jupiter.api.Test;

class FastCdcTest {

    /** Deterministic bytes (SplitMix64 from a seed): the same on every machine and JDK. */
    static byte[] bytes(long seed, int n) {
        byte[] out = new byte[n];
        long x = seed;
        for (int i = 0; i < n; i += 8) {
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            for (int k = 0; k < 8 && i + k < n; k++) {
                out[i + k] = (byte) (z >>> (8 * k));
            }
        }
        return out;
    }

    static List<Integer> lengths(ChunkBoundaries b, byte[] data, int pieceSize) {
        List<Integer> out = new ArrayList<>();
        Chunker c = new Chunker(b);
        for (int off = 0; off < data.length; off += pieceSize) {
            c.write(data, off, Math.min(pieceSize, data.length - off), (buf, o, len) -> out.add(len));
        }
        c.finish((buf, o, len) -> out.add(len));
        return out;
    }

    static List<String> hashes(ChunkBoundaries b, byte[] data) {
        List<String> out = new ArrayList<>();
        Chunker c = new Chunker(b);
        c.write(data, 0, data.length, (buf, o, len) -> out.add(Sha256.hexOf(java.util.Arrays.copyOfRange(buf, o, o + len))));
        c.finish((buf, o, len) -> out.add(Sha256.hexOf(java.util.Arrays.copyOfRange(buf, o, o + len))));
        return out;
    }

    @Test
    void boundariesArePinnedByFixedVectors() {
        // Changing the gear table, the masks or the normalisation moves these boundaries, and with them what a cell
        // deduplicates against the chunks it already stores: such a change needs a new chunker version, not an edit.
        byte[] data = bytes(1, 1 << 20);
        assertThat(lengths(new FastCdc(2048, 8192, 32768), data, data.length)).hasSize(118).startsWith(VECTOR_8K);
        assertThat(lengths(new FastCdc(16384, 65536, 262144), data, data.length)).containsExactly(VECTOR_64K);
    }

    // computed once by this implementation (gear seed "CELLULER", normalisation level 2, top-bit masks)
    static final Integer[] VECTOR_8K = {10058, 14338, 8456, 9528, 14850, 10048, 3870, 10977, 9757, 8559, 9051, 5849,
            2925, 13143, 10806, 10123, 9366, 10929, 8348, 9014};
    static final Integer[] VECTOR_64K = {71148, 38565, 117469, 82249, 135703, 70907, 45216, 86963, 64599, 71542,
            112655, 100194, 51366};

    @Test
    void chunksRespectTheSizeLimitsAndAverageNearTheTarget() {
        byte[] data = bytes(7, 8 << 20);
        FastCdc cdc = new FastCdc(16384, 65536, 262144);
        List<Integer> lens = lengths(cdc, data, data.length);
        assertThat(lens.stream().mapToLong(Integer::longValue).sum()).isEqualTo(data.length);
        for (int i = 0; i < lens.size() - 1; i++) {
            assertThat(lens.get(i)).isBetween(16384, 262144);
        }
        double avg = data.length / (double) lens.size();
        // normalised chunking keeps the mean near the target (the paper: within a few per cent on random data)
        assertThat(avg).isBetween(65536 * 0.8, 65536 * 1.4);
    }

    @Test
    void howTheBytesArriveDoesNotMoveBoundaries() {
        byte[] data = bytes(3, 3 << 20);
        FastCdc cdc = new FastCdc(4096, 16384, 65536);
        List<Integer> whole = lengths(cdc, data, data.length);
        assertThat(lengths(cdc, data, 1)).isEqualTo(whole);
        assertThat(lengths(cdc, data, 1000)).isEqualTo(whole);
        assertThat(lengths(cdc, data, 65536)).isEqualTo(whole);
        assertThat(lengths(cdc, data, 100_003)).isEqualTo(whole);
    }

    @Test
    void anInsertionChangesOnlyTheChunksAroundIt() {
        byte[] data = bytes(11, 4 << 20);
        byte[] edited = new byte[data.length + 100];
        int at = 2 << 20;
        System.arraycopy(data, 0, edited, 0, at);
        System.arraycopy(bytes(99, 100), 0, edited, at, 100);
        System.arraycopy(data, at, edited, at + 100, data.length - at);
        FastCdc cdc = new FastCdc(16384, 65536, 262144);
        Set<String> before = new HashSet<>(hashes(cdc, data));
        List<String> after = hashes(cdc, edited);
        long fresh = after.stream().filter(h -> !before.contains(h)).count();
        // content-defined: the chunks resynchronise after the edit (fixed-size chunks would all shift)
        assertThat(fresh).isBetween(1L, 3L);
        Set<String> fixedBefore = new HashSet<>(hashes(new FixedSize(65536), data));
        long fixedFresh = hashes(new FixedSize(65536), edited).stream().filter(h -> !fixedBefore.contains(h)).count();
        assertThat(fixedFresh).isGreaterThan(25);
    }

    @Test
    void shortStreamsAreOneChunkAndEmptyStreamsNone() {
        FastCdc cdc = new FastCdc(4096, 16384, 65536);
        assertThat(lengths(cdc, bytes(5, 4096), 4096)).containsExactly(4096);
        assertThat(lengths(cdc, bytes(5, 100), 7)).containsExactly(100);
        assertThat(lengths(cdc, new byte[0], 1)).isEmpty();
    }

    @Test
    void fixedSizeCutsEverySizeBytes() {
        assertThat(lengths(new FixedSize(1024), bytes(2, 2500), 333)).containsExactly(1024, 1024, 452);
    }

    @Test
    void badSizesAreRefusedWithTheRule() {
        assertThatThrownBy(() -> new FastCdc(4096, 12000, 65536)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new FastCdc(32768, 16384, 65536)).hasMessageContaining("min <= avg <= max");
        assertThatThrownBy(() -> new FastCdc(16, 64, 128)).hasMessageContaining("64 <= min");
        assertThatThrownBy(() -> new FixedSize(10)).hasMessageContaining("between");
    }
}
