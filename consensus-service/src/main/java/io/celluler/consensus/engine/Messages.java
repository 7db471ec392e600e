package io.celluler.consensus.engine;

import java.util.List;
import java.util.SortedMap;

import io.celluler.core.hash.Merkle;
import io.celluler.core.hash.Sha256;

/**
 * What validators exchange (2-chain HotStuff as in Jolteon / DiemBFT v4) and what each signature covers. Every
 * signed text starts with its kind and the chain id, so a signature is never valid for another kind of message
 * or another chain.
 */
public final class Messages {

    private Messages() {
    }

    /**
     * A quorum certificate: signatures of more than 2/3 of stake over (round, block id). It certifies the block,
     * and is the finality proof of the block it commits (2-chain rule).
     */
    public record QC(long round, String blockId, long height, SortedMap<String, byte[]> signatures) {

        public boolean isGenesis() {
            return round == 0 && signatures.isEmpty();
        }
    }

    /** A timeout certificate: more than 2/3 of stake timed out in {@code round}, each with its highest QC round. */
    public record TC(long round, SortedMap<String, Long> highQcRounds, SortedMap<String, byte[]> signatures) {

        public long maxHighQcRound() {
            long max = 0;
            for (long r : highQcRounds.values()) {
                max = Math.max(max, r);
            }
            return max;
        }
    }

    /**
     * A block: the leader's proposal for a round, extending the block its QC certifies. Its id is the hash of its
     * header ({@link #headerBytes}): every field but the transactions themselves, which the root covers.
     *
     * @param validatorSetHash the validator set that certifies it ({@link Validators#setHash()})
     * @param proposedAtMillis the proposer's clock when proposing: informational, not used for safety
     */
    public record Block(String id, long round, long height, String parentId, QC justify, String proposer, List<Tx> txs,
            String txRoot, String validatorSetHash, long proposedAtMillis) {

        /** A block with its transaction root and id computed. */
        public static Block create(Validators validators, long round, long height, QC justify, String proposer, List<Tx> txs,
                long proposedAtMillis) {
            String root = rootOfTxs(txs);
            String id = idOf(validators.chainId(), round, height, justify.blockId(), justify.round(), root, txs.size(),
                    validators.setHash(), proposer, proposedAtMillis);
            return new Block(id, round, height, justify.blockId(), justify, proposer, List.copyOf(txs), root,
                    validators.setHash(), proposedAtMillis);
        }

        /** Height 0: the block every chain starts from, the same on every validator of the set. */
        public static Block genesis(Validators validators) {
            String root = Merkle.rootOfIds(List.of());
            String id = idOf(validators.chainId(), 0, 0, "", 0, root, 0, validators.setHash(), "", 0);
            return new Block(id, 0, 0, "", null, "", List.of(), root, validators.setHash(), 0);
        }

        /** Whether the id and the transaction root are what the content says (a forged block fails). */
        public boolean consistent(String chainId) {
            String root = rootOfTxs(txs);
            return root.equals(txRoot) && justify != null && justify.blockId().equals(parentId)
                    && id.equals(idOf(chainId, round, height, parentId, justify.round(), root, txs.size(),
                            validatorSetHash, proposer, proposedAtMillis));
        }

        /**
         * The header's canonical bytes ({@link Canonical}; the block id is their SHA-256): domain
         * {@code celluler.consensus.v1.BlockHeader}, then chain id, height, view, the view of the QC it extends,
         * parent id, transaction root, transaction count, validator set hash, proposer, proposal time (ms).
         */
        public static byte[] headerBytes(String chainId, long round, long height, String parentId, long justifyRound,
                String txRoot, int txCount, String validatorSetHash, String proposer, long proposedAtMillis) {
            return Canonical.of("celluler.consensus.v1.BlockHeader").str(chainId).u64(height).u64(round).u64(justifyRound)
                    .str(parentId).str(txRoot).u32(txCount).str(validatorSetHash).str(proposer).u64(proposedAtMillis)
                    .bytes();
        }

        static String idOf(String chainId, long round, long height, String parentId, long justifyRound, String txRoot,
                int txCount, String validatorSetHash, String proposer, long proposedAtMillis) {
            return Sha256.hexOf(headerBytes(chainId, round, height, parentId, justifyRound, txRoot, txCount,
                    validatorSetHash, proposer, proposedAtMillis));
        }

        public int bytes() {
            int n = 0;
            for (Tx tx : txs) {
                n += tx.size();
            }
            return n;
        }
    }

    /** A message between validators. */
    public sealed interface Message {
    }

    /** The leader's block for its round, with the TC that let it skip the previous round, if any. */
    public record Proposal(Block block, TC lastRoundTc, byte[] signature) implements Message {
    }

    /** A vote for a block, sent to the next round's leader. */
    public record Vote(long round, String blockId, long height, String voter, byte[] signature) implements Message {
    }

    /** A validator gave up on {@code round}; carries its highest QC so the next leader can extend it. */
    public record Timeout(long round, QC highQc, String voter, byte[] signature, TC lastRoundTc) implements Message {
    }

    /** Asks for a block and its ancestors (the sender is missing it). */
    public record SyncRequest(String blockId) implements Message {
    }

    /** Blocks oldest first, each certified by the next one's QC (or its own child's). */
    public record SyncResponse(List<Block> blocks) implements Message {
    }

    // ---- what is signed (see Canonical) ----------------------------------------------------------------------

    /** A vote (and so each signature of a QC): chain id, view, height, block id. */
    public static byte[] voteBytes(String chainId, long round, long height, String blockId) {
        return Canonical.of("celluler.consensus.v1.Vote").str(chainId).u64(round).u64(height).str(blockId).bytes();
    }

    /** A timeout (and so each signature of a TC): chain id, the round given up, the signer's highest QC round. */
    public static byte[] timeoutBytes(String chainId, long round, long highQcRound) {
        return Canonical.of("celluler.consensus.v1.Timeout").str(chainId).u64(round).u64(highQcRound).bytes();
    }

    /** A proposal: chain id and the block id. */
    public static byte[] proposalBytes(String chainId, String blockId) {
        return Canonical.of("celluler.consensus.v1.Proposal").str(chainId).str(blockId).bytes();
    }

    /** The Merkle root of a block's transaction ids. */
    static String rootOfTxs(List<Tx> txs) {
        List<String> ids = new java.util.ArrayList<>(txs.size());
        for (Tx tx : txs) {
            ids.add(tx.id());
        }
        return Merkle.rootOfIds(ids);
    }
}
