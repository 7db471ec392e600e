package io.celluler.core.smt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.ByteString;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.state.v1.ProofScheme;
import io.celluler.proto.state.v1.StateProof;
import org.junit.jupiter.api.Test;

/**
 * Proofs on the wire: a proof survives the trip through {@code StateProof} (default siblings as bits), verifies for
 * its key only, and a malformed message is refused, never accepted.
 */
class StateProofsTest {

    static byte[] path(String key) {
        return SparseMerkle.path("ns", key.getBytes(StandardCharsets.UTF_8));
    }

    /** A three-level proof by hand: the key's leaf under a default sibling, a real one, and a default one. */
    static SparseMerkle.Proof handMade(byte[][] root) {
        byte[] p = path("a");
        byte[] value = SparseMerkle.valueHash("1".getBytes(StandardCharsets.UTF_8));
        int depth = 3;
        List<byte[]> siblings = new ArrayList<>();
        siblings.add(SparseMerkle.empty(3)); // deepest: default
        siblings.add(Sha256.newDigest().digest("real".getBytes(StandardCharsets.UTF_8)));
        siblings.add(SparseMerkle.empty(1)); // the root's other child: default
        SparseMerkle.Proof proof = new SparseMerkle.Proof(p, depth, value, null, null, siblings);
        byte[] h = SparseMerkle.leaf(p, value);
        for (int level = depth - 1; level >= 0; level--) {
            byte[] s = siblings.get(depth - 1 - level);
            h = SparseMerkle.bit(p, level) == 0 ? SparseMerkle.node(h, s) : SparseMerkle.node(s, h);
        }
        root[0] = h;
        return proof;
    }

    @Test
    void aProofSurvivesTheWireAndDefaultSiblingsTravelAsBits() {
        byte[][] root = new byte[1][];
        SparseMerkle.Proof proof = handMade(root);
        assertThat(SparseMerkle.verify(root[0], proof)).isTrue();
        StateProof wire = StateProofs.toProto(proof, 7, root[0]);
        assertThat(wire.getScheme()).isEqualTo(ProofScheme.PROOF_SCHEME_SPARSE_MERKLE_SHA256);
        assertThat(wire.getHeight()).isEqualTo(7);
        assertThat(wire.getSiblingHashesCount()).as("only the real sibling as hex").isEqualTo(1);
        assertThat(wire.getDefaultSiblingBitmap().byteAt(0)).isEqualTo((byte) 0b101);
        assertThat(StateProofs.verify(wire)).isTrue();
        assertThat(StateProofs.verify(wire, "ns", "a")).isTrue();
        assertThat(StateProofs.verify(wire, "ns", "b")).isFalse();
        assertThat(StateProofs.verify(wire, "other", "a")).isFalse();
        SparseMerkle.Proof back = StateProofs.fromProto(wire);
        assertThat(back.depth()).isEqualTo(3);
        assertThat(back.siblings()).zipSatisfy(proof.siblings(), (x, y) -> assertThat(x).isEqualTo(y));
    }

    @Test
    void malformedMessagesAreRefused() {
        byte[][] root = new byte[1][];
        StateProof wire = StateProofs.toProto(handMade(root), 7, root[0]);
        assertThat(StateProofs.verify(wire.toBuilder().setScheme(ProofScheme.PROOF_SCHEME_UNSPECIFIED).build())).isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().setDefaultSiblingBitmap(ByteString.copyFrom(new byte[31])).build()))
                .isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().clearSiblingHashes().build())).as("too few siblings").isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().addSiblingHashes("00".repeat(32)).build())).as("too many")
                .isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().setRoot("XYZ").build())).isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().setValueSha256("ab").build())).isFalse();
        assertThat(StateProofs.verify(wire.toBuilder().setDepth(300).build())).isFalse();
        assertThatThrownBy(() -> StateProofs.fromProto(wire.toBuilder().setSiblingHashes(0, "not hex").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sibling_hashes[0]");
    }

    @Test
    void aNonInclusionProofEndingAtAnotherLeafTravelsToo() {
        byte[] p = path("absent");
        byte[] other = p.clone();
        other[31] ^= 1; // shares every bit but the last: the walk ends at its leaf at depth 0
        byte[] otherValue = SparseMerkle.valueHash("v".getBytes(StandardCharsets.UTF_8));
        SparseMerkle.Proof proof = new SparseMerkle.Proof(p, 0, null, other, otherValue, List.of());
        byte[] root = SparseMerkle.leaf(other, otherValue);
        StateProof wire = StateProofs.toProto(proof, 1, root);
        assertThat(wire.getExists()).isFalse();
        assertThat(StateProofs.verify(wire)).isTrue();
        assertThat(StateProofs.verify(wire.toBuilder().setOtherValueSha256(Sha256.hex(new byte[32])).build())).isFalse();
    }
}
