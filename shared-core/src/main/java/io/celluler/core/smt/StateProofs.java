package io.celluler.core.smt;

import java.util.ArrayList;
import java.util.List;

import io.celluler.core.hash.Sha256;
import io.celluler.proto.state.v1.ProofScheme;
import io.celluler.proto.state.v1.StateProof;

/**
 * {@link SparseMerkle.Proof}s as the API carries them ({@code celluler.state.v1.StateProof}): siblings that are the
 * default empty subtree of their depth travel as one bit each, the others as hex. {@link #verify} checks a proof
 * from the wire with nothing else — what a client or the offline verifier does.
 */
public final class StateProofs {

    private StateProofs() {
    }

    public static StateProof toProto(SparseMerkle.Proof p, long height, byte[] root) {
        StateProof.Builder b = StateProof.newBuilder()
                .setScheme(ProofScheme.PROOF_SCHEME_SPARSE_MERKLE_SHA256)
                .setHeight(height)
                .setRoot(Sha256.hex(root))
                .setKeyPathSha256(Sha256.hex(p.path()))
                .setExists(p.exists())
                .setDepth(p.depth());
        if (p.valueHash() != null) {
            b.setValueSha256(Sha256.hex(p.valueHash()));
        }
        if (p.otherPath() != null) {
            b.setOtherKeyPathSha256(Sha256.hex(p.otherPath())).setOtherValueSha256(Sha256.hex(p.otherValue()));
        }
        byte[] bitmap = new byte[SparseMerkle.DEPTH / 8];
        for (int i = 0; i < p.siblings().size(); i++) {
            byte[] sibling = p.siblings().get(i);
            if (SparseMerkle.isEmpty(sibling, p.depth() - i)) {
                bitmap[i / 8] |= (byte) (1 << (i % 8));
            } else {
                b.addSiblingHashes(Sha256.hex(sibling));
            }
        }
        return b.setDefaultSiblingBitmap(com.google.protobuf.ByteString.copyFrom(bitmap)).build();
    }

    /**
     * The proof a message carries.
     *
     * @throws IllegalArgumentException naming the field that is malformed
     */
    public static SparseMerkle.Proof fromProto(StateProof p) {
        if (p.getScheme() != ProofScheme.PROOF_SCHEME_SPARSE_MERKLE_SHA256) {
            throw new IllegalArgumentException("scheme: " + p.getScheme() + " is not one this verifier knows");
        }
        int depth = p.getDepth();
        if (depth < 0 || depth > SparseMerkle.DEPTH) {
            throw new IllegalArgumentException("depth: 0 to " + SparseMerkle.DEPTH + ", not " + depth);
        }
        byte[] bitmap = p.getDefaultSiblingBitmap().toByteArray();
        if (bitmap.length != SparseMerkle.DEPTH / 8) {
            throw new IllegalArgumentException("default_sibling_bitmap: 32 bytes, not " + bitmap.length);
        }
        List<byte[]> siblings = new ArrayList<>(depth);
        int next = 0;
        for (int i = 0; i < depth; i++) {
            if ((bitmap[i / 8] >> (i % 8) & 1) == 1) {
                siblings.add(SparseMerkle.empty(depth - i));
            } else {
                if (next >= p.getSiblingHashesCount()) {
                    throw new IllegalArgumentException("sibling_hashes: fewer than the bitmap and depth need");
                }
                siblings.add(hex("sibling_hashes[" + next + "]", p.getSiblingHashes(next++)));
            }
        }
        if (next != p.getSiblingHashesCount()) {
            throw new IllegalArgumentException("sibling_hashes: more than the bitmap and depth need");
        }
        byte[] value = p.getExists() ? hex("value_sha256", p.getValueSha256()) : null;
        byte[] other = !p.getExists() && !p.getOtherKeyPathSha256().isEmpty()
                ? hex("other_key_path_sha256", p.getOtherKeyPathSha256()) : null;
        byte[] otherValue = other != null ? hex("other_value_sha256", p.getOtherValueSha256()) : null;
        return new SparseMerkle.Proof(hex("key_path_sha256", p.getKeyPathSha256()), depth, value, other, otherValue,
                siblings);
    }

    /** Whether the proof leads to the root it names, for the key path it names; false for a malformed one. */
    public static boolean verify(StateProof p) {
        try {
            return SparseMerkle.verify(hex("root", p.getRoot()), fromProto(p));
        } catch (IllegalArgumentException malformed) {
            return false;
        }
    }

    /** Whether the proof is about {@code namespace}/{@code key} and leads to the root it names. */
    public static boolean verify(StateProof p, String namespace, String key) {
        try {
            return SparseMerkle.verify(hex("root", p.getRoot()),
                    SparseMerkle.path(namespace, key.getBytes(java.nio.charset.StandardCharsets.UTF_8)), fromProto(p));
        } catch (IllegalArgumentException malformed) {
            return false;
        }
    }

    private static byte[] hex(String field, String hex) {
        if (!Sha256.isCanonicalHex(hex)) {
            throw new IllegalArgumentException(field + ": 64 lowercase hex digits");
        }
        return java.util.HexFormat.of().parseHex(hex);
    }
}
