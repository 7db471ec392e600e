package io.celluler.cas.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import io.celluler.cas.erasure.ReedSolomon;
import io.celluler.cas.object.Manifest.ChunkRef;
import org.junit.jupiter.api.Test;

/**
 * When k shards decode to bytes that do not hash to the chunk, the rebuild tries choices that leave shards out one at
 * a time first: one wrong shard among k + m is found within k + m tries, wherever it stands.
 */
class ShardPlacementTest {

    @Test
    void oneWrongShardIsLeftOutWithinAsManyTriesAsThereAreShards() {
        for (int[] km : new int[][] {{2, 1}, {4, 2}, {8, 4}, {10, 6}}) {
            int n = km[0] + km[1];
            List<Integer> all = IntStream.range(0, n).boxed().toList();
            List<int[]> choices = ShardPlacement.choicesLeavingOut(all, km[0], ShardPlacement.MAX_DECODE_TRIES);
            assertThat(choices).allSatisfy(c -> assertThat(c).hasSize(km[0]).doesNotHaveDuplicates());
            for (int i = 0; i < choices.size(); i++) {
                for (int j = 0; j < i; j++) {
                    assertThat(choices.get(i)).as("no choice twice").isNotEqualTo(choices.get(j));
                }
            }
            for (int wrong = 0; wrong < n; wrong++) {
                int w = wrong;
                int at = IntStream.range(0, choices.size()).filter(i -> Arrays.stream(choices.get(i)).noneMatch(x -> x == w))
                        .findFirst().orElse(-1);
                assertThat(at).as("%d+%d: a choice without shard %d", km[0], km[1], wrong).isBetween(0, n - 1);
            }
        }
    }

    @Test
    void aChoiceWithoutTheWrongShardGivesTheChunkBack() {
        ReedSolomon rs = new ReedSolomon(4, 2);
        byte[] chunk = new byte[10_000];
        new java.util.Random(3).nextBytes(chunk);
        ChunkRef ref = new ChunkRef(io.celluler.core.hash.Sha256.hexOf(chunk), chunk.length);
        byte[][] shards = new byte[6][];
        for (int i = 0; i < 6; i++) {
            shards[i] = rs.shard(chunk, i);
        }
        shards[1] = shards[1].clone();
        shards[1][7] ^= 1; // a cell sent a wrong shard 1
        List<Integer> all = List.of(0, 1, 2, 3, 4, 5);
        List<int[]> good = new ArrayList<>();
        for (int[] choice : ShardPlacement.choicesLeavingOut(all, 4, ShardPlacement.MAX_DECODE_TRIES)) {
            if (ShardPlacement.tryDecode(rs, shards, ref, choice) != null) {
                good.add(choice);
            }
        }
        assertThat(good).isNotEmpty().allSatisfy(c -> assertThat(c).doesNotContain(1));
        assertThat(ShardPlacement.tryDecode(rs, shards, ref, new int[] {0, 1, 2, 3})).isNull();
        assertThat(ShardPlacement.tryDecode(rs, shards, ref, good.get(0))).isEqualTo(chunk);
    }
}
