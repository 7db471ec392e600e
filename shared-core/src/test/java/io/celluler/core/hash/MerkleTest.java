package io.celluler.core.hash;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The transaction tree and its inclusion proofs (RFC 6962 §2.1.1 audit paths). */
class MerkleTest {

    private static List<String> ids(int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(Sha256.hexOf(("tx" + i).getBytes(StandardCharsets.UTF_8)));
        }
        return ids;
    }

    @Test
    void everyLeafOfEveryTreeSizeUpTo70ProvesAgainstTheRoot() {
        for (int n = 1; n <= 70; n++) {
            List<String> ids = ids(n);
            String root = Merkle.rootOfIds(ids);
            for (int i = 0; i < n; i++) {
                List<String> path = Merkle.proof(ids, i);
                assertThat(Merkle.verify(ids.get(i), i, n, path, root)).as("n=%d i=%d", n, i).isTrue();
                // the same path does not prove another leaf, another position or another size
                if (n > 1) {
                    assertThat(Merkle.verify(ids.get((i + 1) % n), i, n, path, root)).isFalse();
                }
                if (n > 1) {
                    assertThat(Merkle.verify(ids.get(i), (i + 1) % n, n, path, root)).as("n=%d i=%d moved", n, i).isFalse();
                }
            }
        }
    }

    @Test
    void rootIsRfc6962LeftBalanced() {
        // RFC 6962 MTH for 3 leaves: node(node(l0, l1), l2)
        List<String> ids = ids(3);
        byte[] expected = Merkle.node(Merkle.node(Merkle.leaf(ids.get(0)), Merkle.leaf(ids.get(1))), Merkle.leaf(ids.get(2)));
        assertThat(Merkle.rootOfIds(ids)).isEqualTo(Sha256.hex(expected));
        assertThat(Merkle.rootOfIds(List.of())).isEqualTo(Sha256.hexOf(new byte[0]));
    }

    @Test
    void aChangedSiblingOrRootFailsAndMalformedInputIsFalseNotAnException() {
        List<String> ids = ids(9);
        String root = Merkle.rootOfIds(ids);
        List<String> path = new ArrayList<>(Merkle.proof(ids, 4));
        String s = path.get(1);
        path.set(1, (s.charAt(0) == '0' ? "1" : "0") + s.substring(1));
        assertThat(Merkle.verify(ids.get(4), 4, 9, path, root)).isFalse();
        assertThat(Merkle.verify(ids.get(4), 4, 9, Merkle.proof(ids, 4), ids.get(0))).isFalse();
        assertThat(Merkle.verify(ids.get(4), 4, 9, List.of("zz"), root)).isFalse();
        assertThat(Merkle.verify("not-hex", 4, 9, Merkle.proof(ids, 4), root)).isFalse();
        assertThat(Merkle.verify(ids.get(4), 9, 9, Merkle.proof(ids, 4), root)).isFalse();
        assertThat(Merkle.verify(ids.get(4), 4, 9, Merkle.proof(ids, 4).subList(0, 2), root)).isFalse();
    }
}
