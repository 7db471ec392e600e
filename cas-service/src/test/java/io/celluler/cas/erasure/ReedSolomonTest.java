package io.celluler.cas.erasure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Any k of k + m shards give all of them back; fewer do not; the field arithmetic is a field. */
class ReedSolomonTest {

    static byte[][] data(int k, int len, long seed) {
        Random r = new Random(seed);
        byte[][] d = new byte[k][len];
        for (byte[] s : d) {
            r.nextBytes(s);
        }
        return d;
    }

    static byte[][] all(ReedSolomon rs, byte[][] data) {
        byte[][] parity = rs.encode(data);
        byte[][] shards = new byte[data.length + parity.length][];
        System.arraycopy(data, 0, shards, 0, data.length);
        System.arraycopy(parity, 0, shards, data.length, parity.length);
        return shards;
    }

    /** Every subset of {0..n-1} of size up to {@code max}. */
    static List<int[]> subsets(int n, int max) {
        List<int[]> out = new ArrayList<>();
        for (int mask = 1; mask < 1 << n; mask++) {
            if (Integer.bitCount(mask) <= max) {
                int[] s = new int[Integer.bitCount(mask)];
                int at = 0;
                for (int i = 0; i < n; i++) {
                    if ((mask & (1 << i)) != 0) {
                        s[at++] = i;
                    }
                }
                out.add(s);
            }
        }
        return out;
    }

    @Test
    void everyCombinationOfUpToMLostShardsIsRebuilt() {
        for (int[] km : new int[][] {{4, 2}, {6, 3}, {10, 4}, {1, 2}, {3, 1}}) {
            int k = km[0];
            int m = km[1];
            ReedSolomon rs = new ReedSolomon(k, m);
            byte[][] original = all(rs, data(k, 1000, k * 31L + m));
            for (int[] lost : subsets(k + m, m)) {
                byte[][] shards = original.clone();
                for (int i : lost) {
                    shards[i] = null;
                }
                rs.reconstruct(shards);
                for (int i = 0; i < k + m; i++) {
                    assertThat(shards[i]).as("k=%d m=%d shard %d", k, m, i).isEqualTo(original[i]);
                }
            }
        }
    }

    @Test
    void moreThanMLostShardsCannotBeRebuilt() {
        ReedSolomon rs = new ReedSolomon(4, 2);
        byte[][] shards = all(rs, data(4, 64, 1));
        shards[0] = null;
        shards[3] = null;
        shards[5] = null;
        assertThatThrownBy(() -> rs.reconstruct(shards)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only 3 of 6");
    }

    @Test
    void dataShardsStayAsTheyAre() {
        ReedSolomon rs = new ReedSolomon(3, 2);
        byte[][] d = data(3, 10, 2);
        byte[][] shards = all(rs, d);
        for (int i = 0; i < 3; i++) {
            assertThat(shards[i]).isSameAs(d[i]); // systematic: data shards are the data
        }
        assertThat(new ReedSolomon(3, 0).encode(d)).isEmpty();
    }

    @Test
    void chunksOfAnyLengthAreCutIntoShardsThatAnyKOfGiveBack() {
        ReedSolomon rs = new ReedSolomon(4, 2);
        Random r = new Random(11);
        for (int len : new int[] {1, 3, 4, 5, 1000, 65_537}) {
            byte[] chunk = new byte[len];
            r.nextBytes(chunk);
            assertThat(rs.shardLength(len)).isEqualTo(Math.max(1, (len + 3) / 4));
            byte[][] shards = new byte[6][];
            for (int i = 0; i < 6; i++) {
                shards[i] = rs.shard(chunk, i);
                assertThat(shards[i]).hasSize(rs.shardLength(len));
            }
            byte[][] parity = rs.encode(rs.split(chunk));
            assertThat(shards[4]).as("one parity shard alone, as all of them together").isEqualTo(parity[0]);
            assertThat(shards[5]).isEqualTo(parity[1]);
            for (int[] lost : subsets(6, 2)) {
                byte[][] some = shards.clone();
                for (int i : lost) {
                    some[i] = null;
                }
                rs.reconstruct(some);
                assertThat(rs.join(some, len)).as("length %d without shards %s", len, java.util.Arrays.toString(lost))
                        .isEqualTo(chunk);
            }
        }
        assertThatThrownBy(() -> rs.shard(new byte[8], 6)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> rs.join(new byte[][] {new byte[1], new byte[1], new byte[1], new byte[1]}, 5))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badShapesAreRefused() {
        assertThatThrownBy(() -> new ReedSolomon(0, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ReedSolomon(200, 57)).isInstanceOf(IllegalArgumentException.class);
        ReedSolomon rs = new ReedSolomon(2, 1);
        assertThatThrownBy(() -> rs.encode(new byte[][] {new byte[3], new byte[4]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("differ in length");
        assertThatThrownBy(() -> rs.encode(new byte[][] {new byte[3]})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theFieldIsAField() {
        for (int a = 1; a < 256; a++) {
            byte inv = ReedSolomon.inverse((byte) a);
            assertThat(ReedSolomon.multiply((byte) a, inv)).as("a * 1/a for a=%d", a).isEqualTo((byte) 1);
            for (int b = 0; b < 256; b += 17) {
                // distributive over XOR (the field's addition)
                byte c = (byte) 0x5B;
                assertThat(ReedSolomon.multiply((byte) a, (byte) (b ^ c)))
                        .isEqualTo((byte) (ReedSolomon.multiply((byte) a, (byte) b) ^ ReedSolomon.multiply((byte) a, c)));
            }
        }
    }
}
