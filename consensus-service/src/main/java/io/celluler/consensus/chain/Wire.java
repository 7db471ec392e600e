package io.celluler.consensus.chain;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.celluler.consensus.engine.Messages;
import io.celluler.consensus.engine.Messages.Message;
import io.celluler.consensus.engine.SafetyState;
import io.celluler.consensus.engine.Tx;
import io.celluler.consensus.engine.Validators;
import io.celluler.proto.consensus.v1.BlockHeader;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.QuorumCertificate;
import io.celluler.proto.consensus.v1.ValidatorSignature;
import io.celluler.proto.validator.v1.Block;
import io.celluler.proto.validator.v1.BlockRequest;
import io.celluler.proto.validator.v1.BlockResponse;
import io.celluler.proto.validator.v1.ConsensusMessage;
import io.celluler.proto.validator.v1.LedgerResponse;
import io.celluler.proto.validator.v1.Proposal;
import io.celluler.proto.validator.v1.QuorumCert;
import io.celluler.proto.validator.v1.SafetyRecord;
import io.celluler.proto.validator.v1.Signature;
import io.celluler.proto.validator.v1.Timeout;
import io.celluler.proto.validator.v1.TimeoutCert;
import io.celluler.proto.validator.v1.TimeoutSignature;
import io.celluler.proto.validator.v1.TransactionBatch;
import io.celluler.proto.validator.v1.Vote;

/**
 * Engine messages to and from their wire form (celluler/validator/v1/validator.proto), and engine blocks
 * to the API's headers and certificates. Decoding trusts nothing: ids are recomputed by the engine's checks,
 * transaction ids here, and the voter of a vote or timeout is the authenticated sender.
 */
public final class Wire {

    private Wire() {
    }

    /** A decoded message: an engine message, or transactions gossiped for the pool. */
    public sealed interface Inbound {
    }

    public record EngineMessage(Message message) implements Inbound {
    }

    public record Transactions(List<Tx> txs) implements Inbound {
    }

    /** A request for committed blocks from {@code fromHeight} on (ledger-to-ledger catch-up). */
    public record LedgerRequest(long fromHeight) implements Inbound {
    }

    /** Committed blocks with their finality proofs (not yet checked), in the order sent. */
    public record LedgerBlocks(List<CommittedBlock> blocks) implements Inbound {
    }

    /** A committed block and its finality proof as stored (without the validator set). */
    public record CommittedBlock(Messages.Block block, FinalityProof finality) {
    }

    // ---- encoding ------------------------------------------------------------------------------------------

    public static byte[] encode(String chainId, Message m) {
        ConsensusMessage.Builder b = ConsensusMessage.newBuilder().setChainId(chainId);
        switch (m) {
            case Messages.Proposal p -> {
                Proposal.Builder pb = Proposal.newBuilder().setBlock(block(p.block(), true))
                        .setSignature(ByteString.copyFrom(p.signature()));
                if (p.lastRoundTc() != null) {
                    pb.setLastRoundTc(tc(p.lastRoundTc()));
                }
                b.setProposal(pb);
            }
            case Messages.Vote v -> b.setVote(Vote.newBuilder().setRound(v.round()).setBlockId(v.blockId())
                    .setHeight(v.height()).setSignature(ByteString.copyFrom(v.signature())));
            case Messages.Timeout t -> {
                Timeout.Builder tb = Timeout.newBuilder().setRound(t.round()).setHighQc(qc(t.highQc()))
                        .setSignature(ByteString.copyFrom(t.signature()));
                if (t.lastRoundTc() != null) {
                    tb.setLastRoundTc(tc(t.lastRoundTc()));
                }
                b.setTimeout(tb);
            }
            case Messages.SyncRequest r -> b.setBlockRequest(BlockRequest.newBuilder().setBlockId(r.blockId()));
            case Messages.SyncResponse r -> {
                BlockResponse.Builder rb = BlockResponse.newBuilder();
                r.blocks().forEach(x -> rb.addBlocks(block(x, true)));
                b.setBlockResponse(rb);
            }
        }
        return b.build().toByteArray();
    }

    public static byte[] encodeTransactions(String chainId, List<Tx> txs) {
        TransactionBatch.Builder tb = TransactionBatch.newBuilder();
        txs.forEach(tx -> tb.addTransactions(ByteString.copyFrom(tx.data())));
        return ConsensusMessage.newBuilder().setChainId(chainId).setTransactions(tb).build().toByteArray();
    }

    public static byte[] encodeLedgerRequest(String chainId, long fromHeight) {
        return ConsensusMessage.newBuilder().setChainId(chainId)
                .setLedgerRequest(io.celluler.proto.validator.v1.LedgerRequest.newBuilder().setFromHeight(fromHeight))
                .build().toByteArray();
    }

    public static byte[] encodeLedgerResponse(String chainId, List<CommittedBlock> blocks) {
        LedgerResponse.Builder r = LedgerResponse.newBuilder();
        for (CommittedBlock c : blocks) {
            r.addBlocks(io.celluler.proto.validator.v1.CommittedBlock.newBuilder().setBlock(block(c.block(), true))
                    .setFinality(c.finality()));
        }
        return ConsensusMessage.newBuilder().setChainId(chainId).setLedgerResponse(r).build().toByteArray();
    }

    public static Block block(Messages.Block b, boolean withTxs) {
        Block.Builder bb = Block.newBuilder().setId(b.id()).setRound(b.round()).setHeight(b.height())
                .setParentId(b.parentId()).setProposer(b.proposer()).setTxRoot(b.txRoot())
                .setValidatorSetHash(b.validatorSetHash()).setProposedAtMillis(b.proposedAtMillis());
        if (b.justify() != null) {
            bb.setJustify(qc(b.justify()));
        }
        if (withTxs) {
            b.txs().forEach(tx -> bb.addTransactions(ByteString.copyFrom(tx.data())));
        }
        return bb.build();
    }

    static QuorumCert qc(Messages.QC qc) {
        QuorumCert.Builder b = QuorumCert.newBuilder().setRound(qc.round()).setBlockId(qc.blockId()).setHeight(qc.height());
        qc.signatures().forEach((v, s) -> b.addSignatures(Signature.newBuilder().setValidator(v).setSignature(ByteString.copyFrom(s))));
        return b.build();
    }

    static TimeoutCert tc(Messages.TC tc) {
        TimeoutCert.Builder b = TimeoutCert.newBuilder().setRound(tc.round());
        tc.signatures().forEach((v, s) -> b.addSignatures(TimeoutSignature.newBuilder().setValidator(v)
                .setHighQcRound(tc.highQcRounds().get(v)).setSignature(ByteString.copyFrom(s))));
        return b.build();
    }

    // ---- decoding ------------------------------------------------------------------------------------------

    /** The message {@code from} sent, or null when it is not one (malformed, another chain, empty). */
    public static Inbound decode(String chainId, String from, byte[] payload) {
        ConsensusMessage m;
        try {
            m = ConsensusMessage.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
        if (!m.getChainId().equals(chainId)) {
            return null;
        }
        return switch (m.getBodyCase()) {
            case PROPOSAL -> {
                Proposal p = m.getProposal();
                Messages.Block b = block(p.getBlock());
                yield b == null ? null : new EngineMessage(new Messages.Proposal(b,
                        p.hasLastRoundTc() ? tc(p.getLastRoundTc()) : null, p.getSignature().toByteArray()));
            }
            case VOTE -> {
                Vote v = m.getVote();
                yield new EngineMessage(new Messages.Vote(v.getRound(), v.getBlockId(), v.getHeight(), from,
                        v.getSignature().toByteArray()));
            }
            case TIMEOUT -> {
                Timeout t = m.getTimeout();
                yield !t.hasHighQc() ? null : new EngineMessage(new Messages.Timeout(t.getRound(), qc(t.getHighQc()), from,
                        t.getSignature().toByteArray(), t.hasLastRoundTc() ? tc(t.getLastRoundTc()) : null));
            }
            case BLOCK_REQUEST -> new EngineMessage(new Messages.SyncRequest(m.getBlockRequest().getBlockId()));
            case BLOCK_RESPONSE -> {
                List<Messages.Block> blocks = new ArrayList<>();
                for (Block b : m.getBlockResponse().getBlocksList()) {
                    Messages.Block x = block(b);
                    if (x == null) {
                        yield null;
                    }
                    blocks.add(x);
                }
                yield new EngineMessage(new Messages.SyncResponse(blocks));
            }
            case TRANSACTIONS -> {
                List<Tx> txs = new ArrayList<>();
                for (ByteString data : m.getTransactions().getTransactionsList()) {
                    Tx tx = io.celluler.consensus.chain.Transactions.fromWire(data.toByteArray());
                    if (tx != null) {
                        txs.add(tx);
                    }
                }
                yield new Transactions(txs);
            }
            case LEDGER_REQUEST -> new LedgerRequest(m.getLedgerRequest().getFromHeight());
            case LEDGER_RESPONSE -> {
                List<CommittedBlock> blocks = new ArrayList<>();
                for (io.celluler.proto.validator.v1.CommittedBlock c : m.getLedgerResponse().getBlocksList()) {
                    Messages.Block x = block(c.getBlock());
                    if (x == null || !c.hasFinality()) {
                        yield null;
                    }
                    blocks.add(new CommittedBlock(x, c.getFinality()));
                }
                yield new LedgerBlocks(blocks);
            }
            case BODY_NOT_SET -> null;
        };
    }

    /** An engine block from its wire form (its transaction ids recomputed), or null when one does not parse. */
    public static Messages.Block block(Block b) {
        List<Tx> txs = new ArrayList<>(b.getTransactionsCount());
        for (ByteString data : b.getTransactionsList()) {
            Tx tx = io.celluler.consensus.chain.Transactions.fromWire(data.toByteArray());
            if (tx == null) {
                return null;
            }
            txs.add(tx);
        }
        return new Messages.Block(b.getId(), b.getRound(), b.getHeight(), b.getParentId(),
                b.hasJustify() ? qc(b.getJustify()) : null, b.getProposer(), txs, b.getTxRoot(),
                b.getValidatorSetHash(), b.getProposedAtMillis());
    }

    static Messages.QC qc(QuorumCert q) {
        SortedMap<String, byte[]> sigs = new TreeMap<>();
        q.getSignaturesList().forEach(s -> sigs.put(s.getValidator(), s.getSignature().toByteArray()));
        return new Messages.QC(q.getRound(), q.getBlockId(), q.getHeight(), sigs);
    }

    static Messages.TC tc(TimeoutCert t) {
        SortedMap<String, Long> rounds = new TreeMap<>();
        SortedMap<String, byte[]> sigs = new TreeMap<>();
        for (TimeoutSignature s : t.getSignaturesList()) {
            rounds.put(s.getValidator(), s.getHighQcRound());
            sigs.put(s.getValidator(), s.getSignature().toByteArray());
        }
        return new Messages.TC(t.getRound(), rounds, sigs);
    }

    // ---- safety state (stored) -----------------------------------------------------------------------------

    public static byte[] encode(SafetyState s) {
        SafetyRecord.Builder b = SafetyRecord.newBuilder().setHighestVoteRound(s.highestVoteRound())
                .setHighestQcRound(s.highestQcRound());
        if (s.highQc() != null) {
            b.setHighQc(qc(s.highQc()));
        }
        if (s.highTc() != null) {
            b.setHighTc(tc(s.highTc()));
        }
        return b.build().toByteArray();
    }

    public static SafetyState decodeSafety(byte[] data) throws InvalidProtocolBufferException {
        SafetyRecord r = SafetyRecord.parseFrom(data);
        return new SafetyState(r.getHighestVoteRound(), r.getHighestQcRound(), r.hasHighQc() ? qc(r.getHighQc()) : null,
                r.hasHighTc() ? tc(r.getHighTc()) : null);
    }

    // ---- the API's view ------------------------------------------------------------------------------------

    public static BlockHeader header(String chainId, Messages.Block b) {
        return BlockHeader.newBuilder().setChainId(chainId).setHeight(b.height()).setView(b.round())
                .setBlockHash(b.id()).setParentHash(b.parentId()).setTxRoot(b.txRoot()).setTxCount(b.txs().size())
                .setValidatorSetHash(b.validatorSetHash()).setProposerCellId(b.proposer())
                .setProposedAt(millis(b.proposedAtMillis()))
                .setJustifyView(b.justify() == null ? 0 : b.justify().round()).build();
    }

    public static QuorumCertificate certificate(Messages.QC qc, Validators validators) {
        QuorumCertificate.Builder b = QuorumCertificate.newBuilder().setHeight(qc.height()).setView(qc.round())
                .setBlockHash(qc.blockId()).setValidatorSetHash(validators.setHash()).setTotalStake(validators.total())
                .setSignedStake(validators.stakeOf(qc.signatures().keySet()));
        qc.signatures().forEach((v, sig) -> b.addSignatures(ValidatorSignature.newBuilder().setValidatorCellId(v)
                .setSignature(ByteString.copyFrom(sig))));
        return b.build();
    }

    public static Timestamp millis(long ms) {
        return Timestamp.newBuilder().setSeconds(Math.floorDiv(ms, 1000)).setNanos((int) Math.floorMod(ms, 1000) * 1_000_000).build();
    }

    public static long millis(Timestamp t) {
        return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
    }
}
