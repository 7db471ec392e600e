package io.celluler.consensus.chain;

import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.celluler.core.hash.Merkle;
import io.celluler.consensus.engine.Messages;
import io.celluler.consensus.engine.Validators;
import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.consensus.v1.BlockHeader;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.InclusionProof;
import io.celluler.proto.consensus.v1.QuorumCertificate;
import io.celluler.proto.consensus.v1.Validator;
import io.celluler.proto.consensus.v1.ValidatorSet;
import io.celluler.proto.consensus.v1.ValidatorSignature;

/**
 * Checks a {@link FinalityProof} offline, with nothing but a trusted validator set hash (the genesis's): every
 * header hashes to what it claims, the headers chain, the last one extends its parent in the very next view (the
 * 2-chain commit rule of DiemBFT v4 §5), and validators of the set holding a quorum of stake signed it. One
 * changed byte anywhere fails it.
 */
public final class FinalityProofs {

    private FinalityProofs() {
    }

    /** The verdict: {@code ok}, or the first thing that failed. */
    public record Verdict(boolean ok, String reason) {

        static Verdict fail(String reason) {
            return new Verdict(false, reason);
        }
    }

    public static Verdict verify(FinalityProof p, String trustedValidatorSetHash) {
        if (hasUnknownFields(p)) {
            return Verdict.fail("proof: holds fields a finality proof does not have (altered or from another version)");
        }
        ValidatorSet set = p.getValidatorSet();
        Map<String, Long> stakes = new LinkedHashMap<>();
        Map<String, String> keysHex = new LinkedHashMap<>();
        Map<String, byte[]> keys = new LinkedHashMap<>();
        for (Validator v : set.getValidatorsList()) {
            if (v.getStake() <= 0 || v.getPublicKey().size() != Ed25519.KEY_BYTES || stakes.containsKey(v.getCellId())) {
                return Verdict.fail("validator set: malformed entry " + v.getCellId());
            }
            stakes.put(v.getCellId(), v.getStake());
            keys.put(v.getCellId(), v.getPublicKey().toByteArray());
            keysHex.put(v.getCellId(), HexFormat.of().formatHex(v.getPublicKey().toByteArray()));
        }
        if (stakes.isEmpty()) {
            return Verdict.fail("validator set: empty");
        }
        String setHash = Validators.hashOf(stakes, keysHex);
        if (!setHash.equals(trustedValidatorSetHash)) {
            return Verdict.fail("validator set: hash " + setHash + " is not the trusted set's " + trustedValidatorSetHash);
        }
        Validators validators = new Validators(p.getHeader().getChainId(), stakes, setHash);
        if (!set.getValidatorSetHash().equals(setHash) || set.getTotalStake() != validators.total()
                || set.getQuorumStake() != validators.quorum() || set.getEffectiveFromHeight() > p.getHeader().getHeight()) {
            return Verdict.fail("validator set: its hash, total, quorum or start height is not what its validators give");
        }
        BlockHeader header = p.getHeader();
        if (!hashOf(header).equals(header.getBlockHash())) {
            return Verdict.fail("header: block_hash does not match the header's content");
        }
        if (!header.getValidatorSetHash().equals(setHash)) {
            return Verdict.fail("header: validator_set_hash is not the trusted set");
        }
        List<BlockHeader> chain = p.getCommitChainList();
        if (chain.isEmpty()) {
            return Verdict.fail("commit_chain: empty");
        }
        BlockHeader parent = header;
        BlockHeader before = null;
        for (int i = 0; i < chain.size(); i++) {
            BlockHeader h = chain.get(i);
            if (!hashOf(h).equals(h.getBlockHash())) {
                return Verdict.fail("commit_chain[" + i + "]: block_hash does not match the header's content");
            }
            if (!h.getParentHash().equals(parent.getBlockHash()) || h.getHeight() != parent.getHeight() + 1
                    || !h.getChainId().equals(header.getChainId()) || !h.getValidatorSetHash().equals(setHash)) {
                return Verdict.fail("commit_chain[" + i + "]: does not extend the header before it");
            }
            before = parent;
            parent = h;
        }
        BlockHeader last = parent;
        if (last.getView() != before.getView() + 1 || last.getJustifyView() != before.getView()) {
            return Verdict.fail("commit_chain: the last header does not extend its parent in the next view (no 2-chain commit)");
        }
        QuorumCertificate qc = p.getCertificate();
        if (!qc.getBlockHash().equals(last.getBlockHash()) || qc.getHeight() != last.getHeight()
                || qc.getView() != last.getView()) {
            return Verdict.fail("certificate: does not sign the last header of the commit chain");
        }
        byte[] text = Messages.voteBytes(header.getChainId(), qc.getView(), qc.getHeight(), qc.getBlockHash());
        Set<String> signers = new HashSet<>();
        for (ValidatorSignature s : qc.getSignaturesList()) {
            byte[] key = keys.get(s.getValidatorCellId());
            if (key == null) {
                return Verdict.fail("certificate: signer " + s.getValidatorCellId() + " is not a validator");
            }
            if (!signers.add(s.getValidatorCellId())) {
                return Verdict.fail("certificate: signer " + s.getValidatorCellId() + " signed twice");
            }
            if (!Ed25519.verify(key, text, s.getSignature().toByteArray())) {
                return Verdict.fail("certificate: the signature of " + s.getValidatorCellId() + " does not verify");
            }
        }
        if (!qc.getValidatorSetHash().equals(setHash) || qc.getTotalStake() != validators.total()
                || qc.getSignedStake() != validators.stakeOf(signers)) {
            return Verdict.fail("certificate: its validator set hash, total or signed stake is not what its signatures give");
        }
        if (validators.stakeOf(signers) < validators.quorum()) {
            return Verdict.fail("certificate: signers hold " + validators.stakeOf(signers) + " of " + validators.total()
                    + " stake; a quorum is " + validators.quorum());
        }
        if (p.hasInclusionProof()) {
            InclusionProof ip = p.getInclusionProof();
            if (!ip.getRoot().equals(header.getTxRoot()) || ip.getLeafCount() != header.getTxCount()
                    || !Merkle.verify(ip.getTxId(), ip.getLeafIndex(), ip.getLeafCount(), ip.getSiblingHashesList(),
                            header.getTxRoot())) {
                return Verdict.fail("inclusion_proof: does not lead to the header's tx_root");
            }
        }
        return new Verdict(true, "final: height " + header.getHeight() + ", signed by " + signers.size()
                + " validators with " + validators.stakeOf(signers) + " of " + validators.total() + " stake");
    }

    private static boolean hasUnknownFields(com.google.protobuf.Message m) {
        if (!m.getUnknownFields().asMap().isEmpty()) {
            return true;
        }
        for (var e : m.getAllFields().entrySet()) {
            if (e.getKey().getJavaType() == com.google.protobuf.Descriptors.FieldDescriptor.JavaType.MESSAGE) {
                if (e.getKey().isRepeated()) {
                    for (Object o : (List<?>) e.getValue()) {
                        if (hasUnknownFields((com.google.protobuf.Message) o)) {
                            return true;
                        }
                    }
                } else if (hasUnknownFields((com.google.protobuf.Message) e.getValue())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The hash a header's content gives (see {@link Messages.Block#headerBytes}). */
    public static String hashOf(BlockHeader h) {
        return Sha256.hexOf(Messages.Block.headerBytes(h.getChainId(), h.getView(), h.getHeight(), h.getParentHash(),
                h.getJustifyView(), h.getTxRoot(), h.getTxCount(), h.getValidatorSetHash(), h.getProposerCellId(),
                Wire.millis(h.getProposedAt())));
    }

    /** The API's validator set of a genesis. */
    public static ValidatorSet validatorSet(Genesis g) {
        Validators v = g.toValidators();
        ValidatorSet.Builder b = ValidatorSet.newBuilder().setValidatorSetHash(v.setHash()).setEffectiveFromHeight(1)
                .setTotalStake(v.total()).setQuorumStake(v.quorum());
        g.validators().stream().sorted((x, y) -> x.cellId().compareTo(y.cellId())).forEach(x -> b.addValidators(
                Validator.newBuilder().setCellId(x.cellId()).setStake(x.stake())
                        .setPublicKey(com.google.protobuf.ByteString.copyFrom(HexFormat.of().parseHex(x.publicKey())))));
        return b.build();
    }
}
