package io.celluler.consensus.engine;

import io.celluler.consensus.engine.Messages.QC;
import io.celluler.consensus.engine.Messages.TC;

/**
 * What a validator must never forget (DiemBFT v4 §4, Safety), written durably before any vote or timeout
 * leaves, so that a restarted validator never votes twice in one round: the highest round it voted or timed out
 * in, and the round of the highest QC it voted on top of (its lock). With them the highest QC and TC it knows:
 * without them a validator that restarted with a lock above its known QCs could not time out, and validators
 * that all restarted after a TC could each be unable to time out in the round before it (liveness, not safety;
 * Aptos keeps its highest TC for the same reason).
 *
 * @param highestVoteRound the highest round this validator voted for a block or sent a timeout in
 * @param highestQcRound   the highest QC round this validator has voted on top of
 * @param highQc           the highest QC known, or null before any (the genesis QC)
 * @param highTc           the highest TC known, or null
 */
public record SafetyState(long highestVoteRound, long highestQcRound, QC highQc, TC highTc) {

    public static final SafetyState INITIAL = new SafetyState(0, 0, null, null);
}
