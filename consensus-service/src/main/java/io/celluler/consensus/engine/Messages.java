package io.celluler.consensus.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.SortedMap;

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

    /** A block: the leader's proposal for a round, extending the block its QC certifies. */
    public record Block(String id, long round, long height, String parentId, QC justify, String proposer, List<Tx> txs,
            String txRoot) {

        /** A block with its transaction root and id computed. */
        public static Block create(String chainId, long round, long height, QC justify, String proposer, List<Tx> txs) {
            String root = Merkle.root(txs);
            return new Block(idOf(chainId, round, height, justify.blockId(), justify.round(), proposer, root), round, height,
                    justify.blockId(), justify, proposer, List.copyOf(txs), root);
        }

        public static Block genesis(String chainId) {
            String root = Merkle.root(List.of());
            String id = idOf(chainId, 0, 0, "", 0, "", root);
            return new Block(id, 0, 0, "", null, "", List.of(), root);
        }

        /** Whether the id and the transaction root are what the content says (a forged block fails). */
        public boolean consistent(String chainId) {
            String root = Merkle.root(txs);
            return root.equals(txRoot) && justify != null && justify.blockId().equals(parentId)
                    && id.equals(idOf(chainId, round, height, parentId, justify.round(), proposer, root));
        }

        static String idOf(String chainId, long round, long height, String parentId, long justifyRound, String proposer,
                String txRoot) {
            MessageDigest d = Sha256.newDigest();
            d.update(("block|" + chainId + "|").getBytes(StandardCharsets.UTF_8));
            d.update(ByteBuffer.allocate(24).putLong(round).putLong(height).putLong(justifyRound).array());
            d.update(("|" + parentId + "|" + proposer + "|" + txRoot).getBytes(StandardCharsets.UTF_8));
            return Sha256.hex(d.digest());
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

    // ---- what is signed -----------------------------------------------------------------------------------

    public static byte[] voteBytes(String chainId, long round, String blockId) {
        return ("vote|" + chainId + "|" + round + "|" + blockId).getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] timeoutBytes(String chainId, long round, long highQcRound) {
        return ("timeout|" + chainId + "|" + round + "|" + highQcRound).getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] proposalBytes(String chainId, String blockId) {
        return ("proposal|" + chainId + "|" + blockId).getBytes(StandardCharsets.UTF_8);
    }
}
