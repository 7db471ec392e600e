package io.celluler.consensus.engine;

/**
 * Engine parameters, in ticks (the driver decides what a tick is).
 *
 * @param roundTimeoutTicks      a round without progress times out after this long …
 * @param maxRoundTimeoutTicks   … × 1.5 for each round since the highest QC, up to this (so a long
 *                               outage does not leave validators waiting hours, a known liveness bug of some
 *                               HotStuff ports)
 * @param idleProposalTicks      with nothing to order, a leader waits this long before proposing an empty block
 *                               (keeps the chain alive without spinning); less than {@code roundTimeoutTicks}
 * @param maxBlockTxs            transactions in one block at most
 * @param maxBlockBytes          transaction bytes in one block at most
 * @param maxPoolTxs             transactions waiting in this validator's pool at most (more are refused)
 * @param syncBatchBlocks        blocks sent in one sync answer at most
 * @param keptCommittedBlocks    committed blocks kept in memory to serve lagging validators …
 * @param keptCommittedBytes     … and their transaction bytes at most (the tip is always kept): full blocks are large,
 *                               and a validator further behind catches up from a ledger instead
 */
public record ConsensusConfig(int roundTimeoutTicks, int maxRoundTimeoutTicks, int idleProposalTicks, int maxBlockTxs,
        int maxBlockBytes, int maxPoolTxs, int syncBatchBlocks, int keptCommittedBlocks, long keptCommittedBytes) {

    public ConsensusConfig {
        if (roundTimeoutTicks < 2 || maxRoundTimeoutTicks < roundTimeoutTicks || idleProposalTicks < 0
                || idleProposalTicks >= roundTimeoutTicks || maxBlockTxs < 1 || maxBlockBytes < 1 || maxPoolTxs < 1
                || syncBatchBlocks < 1 || keptCommittedBlocks < syncBatchBlocks || keptCommittedBytes < 1) {
            // (the record's fields are not assigned yet here: name the parameters)
            throw new IllegalArgumentException("invalid consensus configuration: roundTimeoutTicks=" + roundTimeoutTicks
                    + " maxRoundTimeoutTicks=" + maxRoundTimeoutTicks + " idleProposalTicks=" + idleProposalTicks
                    + " maxBlockTxs=" + maxBlockTxs + " maxBlockBytes=" + maxBlockBytes + " maxPoolTxs=" + maxPoolTxs
                    + " syncBatchBlocks=" + syncBatchBlocks + " keptCommittedBlocks=" + keptCommittedBlocks
                    + " keptCommittedBytes=" + keptCommittedBytes
                    + " (needed: 2 <= roundTimeout <= maxRoundTimeout, 0 <= idleProposal < roundTimeout, the limits"
                    + " positive, syncBatchBlocks <= keptCommittedBlocks)");
        }
    }

    /** With 10 ms ticks: rounds time out after 1 s (growing to 4 s at most), idle leaders propose every 0.3 s. */
    public static ConsensusConfig defaults() {
        return new ConsensusConfig(100, 400, 30, 2000, 1 << 20, 100_000, 256, 2048, 64L << 20);
    }
}
