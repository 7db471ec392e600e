package io.celluler.consensus.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Messages.Message;
import io.celluler.consensus.engine.Messages.Proposal;
import io.celluler.consensus.engine.Messages.QC;
import io.celluler.consensus.engine.Messages.SyncRequest;
import io.celluler.consensus.engine.Messages.SyncResponse;
import io.celluler.consensus.engine.Messages.TC;
import io.celluler.consensus.engine.Messages.Timeout;
import io.celluler.consensus.engine.Messages.Vote;

/**
 * One validator of 2-chain HotStuff, as Jolteon / DiemBFT v4 describe it (Gelashvili et al., "Jolteon and Ditto",
 * FC 2022; "DiemBFT v4", 2021), with stake-weighted quorums and leaders. A pure state machine (DESIGN §6): the
 * driver feeds it ticks, messages and transactions, and drains a {@link Ready} — persist the safety state, then
 * send the messages, then apply the commits.
 *
 * <p>Rules, as in DiemBFT v4 §4–5:
 * <ul>
 *   <li><b>Vote</b> for a block of round r only if r &gt; max(highest vote round, its QC's round), and either its QC
 *       is of round r−1 or it comes with a TC of round r−1 and its QC is at least the highest QC in that TC. Votes go
 *       to every validator (DiemBFT sends them to the next leader only): each forms the QC itself, so a crashed
 *       next leader costs one round instead of the block's certificate, and all enter the next round together.</li>
 *   <li><b>Commit</b> (2-chain): a QC for block B whose parent P is of round B.round−1 commits P and its ancestors;
 *       that QC (with B) is P's finality proof.</li>
 *   <li><b>Pacemaker</b>: a round that makes no progress times out; the timeout (with the validator's highest QC)
 *       goes to everyone, and is re-sent at every expiry. Timeouts of more than 1/3 of stake make a validator join
 *       (Bracha); of more than 2/3, they form a TC that moves everyone to the next round. Round timeouts grow by
 *       half for each round since the highest QC, up to a cap.</li>
 *   <li><b>Sync</b>: a proposal or QC for an unknown block makes the validator ask the sender for it and its
 *       ancestors; blocks arrive oldest first and are checked (id, QC) before they are inserted.</li>
 * </ul>
 */
public final class ConsensusEngine {

    /** A message to send; {@code to} null means every other validator. */
    public record Outbound(String to, Message message) {
    }

    /**
     * A committed block with its finality proof: {@code certifiedChild} extends it in the next round and
     * {@code childQc} certifies that child (the 2-chain rule). Ancestors committed in the same step share the proof
     * (they are committed through the hash chain).
     */
    public record Commit(Block block, Block certifiedChild, QC childQc) {
    }

    /**
     * What the driver does next, in this order: persist {@code safety} (when not null) and {@code blocks} (added to
     * the block tree) durably, then send {@code messages}, then apply {@code commits}. {@code expired}: ids of
     * pooled transactions whose {@link Tx#validUntilHeight} passed without a commit; they left the pool.
     */
    public record Ready(SafetyState safety, List<Block> blocks, List<Outbound> messages, List<Commit> commits,
            List<String> expired) {

        public boolean isEmpty() {
            return safety == null && blocks.isEmpty() && messages.isEmpty() && commits.isEmpty() && expired.isEmpty();
        }
    }

    private final ConsensusConfig cfg;
    private final Validators validators;
    private final String self;
    private final Crypto crypto;
    private final String chainId;
    private final String genesisId;

    // safety (persisted)
    private long highestVoteRound;
    private long highestQcRound;
    private boolean safetyDirty;

    // pacemaker
    private long now;
    private long wallMillis;
    private long currentRound = 1;
    private long roundStartTick;
    private long roundDeadlineTick;
    private long roundTimeoutTicks;
    private TC lastRoundTc;
    private TC highTc;
    private long proposedRound;

    // block tree
    private final Map<String, Block> blocks = new LinkedHashMap<>();
    private final Map<String, Block> committedRecent = new LinkedHashMap<>();
    private long committedRecentBytes;
    private QC highQc;
    private String committedId;
    private long committedHeight;
    private long committedRound;
    private final Map<Long, Proposal> waitingForParent = new TreeMap<>();
    private final Map<String, Long> syncAskedAt = new LinkedHashMap<>();
    private long syncAttempts;

    // votes and timeouts being collected
    private final TreeMap<Long, Map<String, SortedMap<String, byte[]>>> votes = new TreeMap<>();
    private final TreeMap<Long, Map<String, String>> votedFor = new TreeMap<>();
    private final Set<String> formedQcs = new HashSet<>();
    private final TreeMap<Long, SortedMap<String, Timeout>> timeouts = new TreeMap<>();
    private long timeoutSentRound;

    // transactions
    private final Map<String, Tx> pool = new LinkedHashMap<>();
    private final TreeMap<Long, List<String>> expiries = new TreeMap<>();
    private final Map<String, Boolean> recentlyCommitted = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 4 * cfg.maxPoolTxs();
        }
    };

    // verification cache: QCs and TCs already checked
    private final Map<String, Boolean> verified = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > 4096;
        }
    };

    private final List<Outbound> outbox = new ArrayList<>();
    private final List<Block> inserted = new ArrayList<>();
    private final List<Commit> commits = new ArrayList<>();
    private final List<String> expired = new ArrayList<>();
    private long rejected;
    private String lastRejection = "";

    /**
     * A validator starting from its persisted state: {@code safety}; the last committed blocks, oldest first, ending
     * with the committed tip (its ledger's last {@code keptCommittedBlocks}, which it serves to validators that lag);
     * and the blocks it had added to its tree above the tip (any order; those that do not connect are dropped and
     * fetched again).
     */
    public ConsensusEngine(ConsensusConfig cfg, Validators validators, String self, Crypto crypto, SafetyState safety,
            List<Block> committed, List<Block> tree) {
        if (!validators.contains(self)) {
            throw new IllegalArgumentException(self + " is not a validator");
        }
        this.cfg = cfg;
        this.validators = validators;
        this.self = self;
        this.crypto = crypto;
        this.chainId = validators.chainId();
        this.genesisId = Block.genesis(validators).id();
        this.highestVoteRound = safety.highestVoteRound();
        this.highestQcRound = safety.highestQcRound();
        if (committed.isEmpty()) {
            throw new IllegalArgumentException("committed: at least the genesis block");
        }
        Block committedTip = committed.get(committed.size() - 1);
        for (Block c : committed.subList(Math.max(0, committed.size() - cfg.keptCommittedBlocks()), committed.size())) {
            keepCommitted(c);
        }
        trimCommittedRecent();
        this.blocks.put(committedTip.id(), committedTip);
        this.committedId = committedTip.id();
        this.committedHeight = committedTip.height();
        this.committedRound = committedTip.round();
        this.highQc = safety.highQc() != null ? safety.highQc()
                : new QC(0, genesisId, 0, Collections.emptySortedMap());
        this.currentRound = Math.max(highQc.round() + 1, 1);
        List<Block> above = new ArrayList<>(tree);
        above.sort(java.util.Comparator.comparingLong(Block::height));
        for (Block b : above) {
            Block parent = known(b.parentId());
            if (b.height() > committedHeight && parent != null && b.height() == parent.height() + 1) {
                blocks.put(b.id(), b);
            }
        }
        for (Block b : above) {
            if (blocks.containsKey(b.id())) {
                processQc(b.justify());
            }
        }
        processQc(highQc);
        if (safety.highTc() != null) {
            highTc = safety.highTc();
            advanceRound(highTc);
        }
        // commits found again here are for the driver to apply (idempotently: its ledger may have kept some)
        inserted.clear();
        restartTimer();
    }

    /** A validator of a new chain: the genesis block, nothing voted. */
    public static ConsensusEngine genesis(ConsensusConfig cfg, Validators validators, String self, Crypto crypto) {
        return new ConsensusEngine(cfg, validators, self, crypto, SafetyState.INITIAL,
                List.of(Block.genesis(validators)), List.of());
    }

    // ---- inputs -----------------------------------------------------------------------------------------

    /** Advances time by one tick: round timeouts, and proposing when this validator leads. */
    public void tick() {
        tick(wallMillis);
    }

    /**
     * As {@link #tick()}, telling the time of the driver's clock: it only dates the blocks this validator proposes
     * (informational; never used for a decision).
     */
    public void tick(long wallClockMillis) {
        wallMillis = Math.max(wallMillis, wallClockMillis);
        now++;
        if (now >= roundDeadlineTick) {
            localTimeout();
        }
        maybePropose();
    }

    /** What {@link #submit} made of a transaction. */
    public enum Admission { ADMITTED, KNOWN, POOL_FULL, TOO_LARGE, EXPIRED }

    /** Offers a transaction for ordering. */
    public Admission submit(Tx tx) {
        if (pool.containsKey(tx.id()) || recentlyCommitted.containsKey(tx.id())) {
            return Admission.KNOWN;
        }
        if (tx.size() > cfg.maxBlockBytes()) {
            return Admission.TOO_LARGE;
        }
        if (!tx.validAt(committedHeight + 1)) {
            return Admission.EXPIRED;
        }
        if (pool.size() >= cfg.maxPoolTxs()) {
            return Admission.POOL_FULL;
        }
        pool.put(tx.id(), tx);
        if (tx.validUntilHeight() != 0) {
            expiries.computeIfAbsent(tx.validUntilHeight(), h -> new ArrayList<>()).add(tx.id());
        }
        return Admission.ADMITTED;
    }

    /** Takes a transaction out of the pool (the driver's own expiry); false when it was not pooled. */
    public boolean drop(String txId) {
        return pool.remove(txId) != null;
    }

    /** True while the transaction waits in the pool (proposed or not, not yet committed). */
    public boolean pending(String txId) {
        return pool.containsKey(txId);
    }

    public int poolSize() {
        return pool.size();
    }

    /** A message from validator {@code from} (authenticated by the transport). */
    public void receive(String from, Message m) {
        if (!validators.contains(from)) {
            reject("unknown sender");
            return;
        }
        switch (m) {
            case Proposal p -> onProposal(from, p);
            case Vote v -> onVote(from, v);
            case Timeout t -> onTimeout(from, t);
            case SyncRequest r -> onSyncRequest(from, r);
            case SyncResponse r -> onSyncResponse(from, r);
        }
    }

    /** What to do now; drains it. */
    public Ready ready() {
        SafetyState s = safetyDirty ? new SafetyState(highestVoteRound, highestQcRound, highQc, highTc) : null;
        safetyDirty = false;
        Ready r = new Ready(s, List.copyOf(inserted), List.copyOf(outbox), List.copyOf(commits), List.copyOf(expired));
        inserted.clear();
        outbox.clear();
        commits.clear();
        expired.clear();
        return r;
    }

    // ---- proposals and votes ------------------------------------------------------------------------------

    private void onProposal(String from, Proposal p) {
        Block b = p.block();
        if (!b.proposer().equals(from) || !wellFormed(b) || !b.txs().stream().allMatch(tx -> tx.validAt(b.height()))
                || b.txs().size() > cfg.maxBlockTxs()
                || b.bytes() > cfg.maxBlockBytes() || b.round() < 1
                || !crypto.verify(from, Messages.proposalBytes(chainId, b.id()), p.signature())
                || !validQc(b.justify()) || p.lastRoundTc() != null && !validTc(p.lastRoundTc())) {
            reject("invalid proposal");
            return;
        }
        processQc(b.justify());
        if (p.lastRoundTc() != null) {
            advanceRound(p.lastRoundTc());
        }
        if (b.round() != currentRound || !validators.leader(b.round()).equals(b.proposer())) {
            if (b.round() > currentRound) {
                // ahead of us: we lack the certificate of the round before; keep it until we catch up
                waitingForParent.put(b.round(), p);
                trimWaiting();
            }
            return;
        }
        Block parent = known(b.parentId());
        if (parent == null) {
            waitingForParent.put(b.round(), p);
            trimWaiting();
            askSync(from, b.parentId());
            return;
        }
        if (b.height() != parent.height() + 1) {
            reject("proposal height");
            return;
        }
        insert(b);
        maybeVote(b, p.lastRoundTc());
    }

    /** Votes for {@code b} if the voting rule allows it (DiemBFT v4 §4: safe_to_vote). */
    private void maybeVote(Block b, TC tc) {
        QC qc = b.justify();
        boolean extendsQc = b.round() == qc.round() + 1;
        boolean extendsTc = tc != null && b.round() == tc.round() + 1 && qc.round() >= tc.maxHighQcRound();
        if (b.round() > Math.max(highestVoteRound, qc.round()) && (extendsQc || extendsTc)) {
            highestVoteRound = b.round();
            highestQcRound = Math.max(highestQcRound, qc.round());
            safetyDirty = true;
            Vote vote = new Vote(b.round(), b.id(), b.height(), self,
                    crypto.sign(Messages.voteBytes(chainId, b.round(), b.height(), b.id())));
            // to everyone, not only the next leader: a silent next leader then costs one round, not the QC
            outbox.add(new Outbound(null, vote));
            onVote(self, vote);
        }
    }

    private void onVote(String from, Vote v) {
        if (!v.voter().equals(from) || v.round() + 1 < currentRound) {
            return;
        }
        Map<String, String> voted = votedFor.computeIfAbsent(v.round(), r -> new LinkedHashMap<>());
        String before = voted.get(v.voter());
        if (before != null) {
            if (!before.equals(v.blockId())) {
                reject("equivocating vote"); // a second, different vote in one round: equivocation, ignored
            }
            return;
        }
        Block known = known(v.blockId());
        if (known != null && known.height() != v.height()
                || !crypto.verify(v.voter(), Messages.voteBytes(chainId, v.round(), v.height(), v.blockId()), v.signature())) {
            reject("vote signature");
            return;
        }
        voted.put(v.voter(), v.blockId());
        SortedMap<String, byte[]> sigs = votes.computeIfAbsent(v.round(), r -> new LinkedHashMap<>())
                .computeIfAbsent(voteKey(v.blockId(), v.height()), id -> new TreeMap<>());
        sigs.put(v.voter(), v.signature());
        if (v.round() == currentRound && highestVoteRound < currentRound && known(v.blockId()) == null
                && validators.stakeOf(sigs.keySet()) >= validators.honestMinority()) {
            // the proposal did not reach us but honest validators voted for it: fetch it and vote too
            askSync(v.voter(), v.blockId());
        }
        String key = v.round() + "|" + voteKey(v.blockId(), v.height());
        if (validators.stakeOf(sigs.keySet()) >= validators.quorum() && formedQcs.add(key)) {
            QC qc = new QC(v.round(), v.blockId(), v.height(), new TreeMap<>(sigs));
            verified.put(qcKey(qc), Boolean.TRUE);
            processQc(qc);
            maybePropose();
        }
    }

    private void maybePropose() {
        if (proposedRound >= currentRound || !self.equals(validators.leader(currentRound))) {
            return;
        }
        boolean afterQc = highQc.round() == currentRound - 1;
        boolean afterTc = lastRoundTc != null && lastRoundTc.round() == currentRound - 1;
        if (!afterQc && !afterTc) {
            return;
        }
        Block parent = known(highQc.blockId());
        if (parent == null) {
            askSync(highQc);
            return;
        }
        Set<String> inFlight = txsSinceCommit(parent);
        boolean pending = pool.keySet().stream().anyMatch(id -> !inFlight.contains(id));
        if (!pending && inFlight.isEmpty() && now - roundStartTick < cfg.idleProposalTicks()) {
            return; // nothing to order and nothing to finish: wait a little before an empty block
        }
        List<Tx> batch = new ArrayList<>();
        int bytes = 0;
        for (Tx tx : pool.values()) {
            if (batch.size() >= cfg.maxBlockTxs()) {
                break;
            }
            if (inFlight.contains(tx.id()) || bytes + tx.size() > cfg.maxBlockBytes() || !tx.validAt(parent.height() + 1)) {
                continue;
            }
            batch.add(tx);
            bytes += tx.size();
        }
        Block b = Block.create(validators, currentRound, parent.height() + 1, highQc, self, batch,
                Math.max(wallMillis, parent.proposedAtMillis()));
        proposedRound = currentRound;
        Proposal p = new Proposal(b, afterQc ? null : lastRoundTc, crypto.sign(Messages.proposalBytes(chainId, b.id())));
        outbox.add(new Outbound(null, p));
        onProposal(self, p);
    }

    /** Transactions in the blocks between the committed tip and {@code from} (inclusive): not to be proposed again. */
    private Set<String> txsSinceCommit(Block from) {
        Set<String> ids = new HashSet<>();
        Block b = from;
        while (b != null && b.height() > committedHeight) {
            for (Tx tx : b.txs()) {
                ids.add(tx.id());
            }
            b = blocks.get(b.parentId());
        }
        return ids;
    }

    // ---- certificates and commits -------------------------------------------------------------------------

    private void processQc(QC qc) {
        if (qc.round() > highQc.round()) {
            highQc = qc;
            safetyDirty = true;
        }
        Block b = blocks.get(qc.blockId());
        if (b != null) {
            tryCommit(b, qc);
        } else if (qc.round() > committedRound) {
            askSync(qc);
        }
        if (qc.round() + 1 > currentRound) {
            currentRound = qc.round() + 1;
            lastRoundTc = null;
            enterRound();
        }
    }

    /** The 2-chain rule: a QC for {@code b} whose parent is of the round just before commits that parent. */
    private void tryCommit(Block b, QC qc) {
        if (b.justify() == null || b.round() != b.justify().round() + 1) {
            return;
        }
        Block parent = blocks.get(b.parentId());
        if (parent == null || parent.height() <= committedHeight) {
            return;
        }
        Deque<Block> chain = new ArrayDeque<>();
        for (Block x = parent; x != null && x.height() > committedHeight; x = blocks.get(x.parentId())) {
            chain.push(x);
        }
        if (chain.isEmpty() || !chain.peek().parentId().equals(committedId)) {
            return; // not connected to the committed tip: cannot happen with the vote rule; refuse to guess
        }
        for (Block c : chain) {
            commits.add(new Commit(c, b, qc));
            markCommitted(c);
        }
        expireDue();
        prune();
    }

    /** {@code c}, which extends the committed tip, becomes the tip; its transactions leave the pool. */
    private void markCommitted(Block c) {
        keepCommitted(c);
        for (Tx tx : c.txs()) {
            pool.remove(tx.id());
            recentlyCommitted.put(tx.id(), Boolean.TRUE);
        }
        committedId = c.id();
        committedHeight = c.height();
        committedRound = c.round();
    }

    /**
     * Takes {@code b} as committed without its certificate passing through the engine: the driver checked its
     * finality proof (ledger-to-ledger catch-up of a validator that fell behind further than the others keep in
     * memory). It must extend the committed tip. Nothing is added to {@link Ready#commits()}: the driver stores
     * the block with the proof it checked. The round is untouched (it moves with the certificates to come).
     *
     * @return false when {@code b} does not extend the committed tip or is not well formed
     */
    public boolean adoptCommitted(Block b) {
        if (b.height() != committedHeight + 1 || !b.parentId().equals(committedId) || !wellFormed(b)
                || b.round() <= committedRound) {
            return false;
        }
        blocks.put(b.id(), b);
        markCommitted(b);
        expireDue();
        prune();
        return true;
    }

    private void expireDue() {
        SortedMap<Long, List<String>> due = expiries.headMap(committedHeight + 1);
        for (List<String> ids : due.values()) {
            for (String id : ids) {
                if (pool.remove(id) != null) {
                    expired.add(id);
                }
            }
        }
        due.clear();
    }

    private void prune() {
        // keep what extends the committed tip; forks that did not make it go
        Set<String> keep = new HashSet<>();
        keep.add(committedId);
        List<Block> byHeight = new ArrayList<>(blocks.values());
        byHeight.sort(java.util.Comparator.comparingLong(Block::height));
        for (Block b : byHeight) {
            if (b.height() > committedHeight && keep.contains(b.parentId())) {
                keep.add(b.id());
            }
        }
        blocks.keySet().retainAll(keep);
        trimCommittedRecent();
    }

    private void keepCommitted(Block c) {
        if (committedRecent.put(c.id(), c) == null) {
            committedRecentBytes += c.bytes();
        }
    }

    /** Oldest first, down to the count and the bytes of the configuration; the tip stays. */
    private void trimCommittedRecent() {
        var it = committedRecent.values().iterator();
        while (committedRecent.size() > 1
                && (committedRecent.size() > cfg.keptCommittedBlocks() || committedRecentBytes > cfg.keptCommittedBytes())) {
            committedRecentBytes -= it.next().bytes();
            it.remove();
        }
    }

    /** Votes and timeouts of rounds that are over: bounded memory also while nothing commits. */
    private void forgetOldRounds() {
        votes.headMap(currentRound - 2).clear();
        votedFor.headMap(currentRound - 2).clear();
        timeouts.headMap(currentRound - 1).clear();
        if (formedQcs.size() > 1024) {
            formedQcs.clear();
        }
    }

    private boolean validQc(QC qc) {
        if (qc == null) {
            return false;
        }
        if (qc.isGenesis()) {
            return qc.blockId().equals(genesisId);
        }
        String key = qcKey(qc);
        if (verified.containsKey(key)) {
            return true;
        }
        if (validators.stakeOf(qc.signatures().keySet()) < validators.quorum()) {
            return false;
        }
        byte[] text = Messages.voteBytes(chainId, qc.round(), qc.height(), qc.blockId());
        for (Map.Entry<String, byte[]> e : qc.signatures().entrySet()) {
            if (!validators.contains(e.getKey()) || !crypto.verify(e.getKey(), text, e.getValue())) {
                return false;
            }
        }
        verified.put(key, Boolean.TRUE);
        return true;
    }

    private boolean validTc(TC tc) {
        String key = "tc|" + tc.round() + "|" + tc.highQcRounds();
        if (verified.containsKey(key)) {
            return true;
        }
        if (!tc.highQcRounds().keySet().equals(tc.signatures().keySet())
                || validators.stakeOf(tc.signatures().keySet()) < validators.quorum()) {
            return false;
        }
        for (Map.Entry<String, byte[]> e : tc.signatures().entrySet()) {
            long hqc = tc.highQcRounds().get(e.getKey());
            if (hqc >= tc.round() || !validators.contains(e.getKey())
                    || !crypto.verify(e.getKey(), Messages.timeoutBytes(chainId, tc.round(), hqc), e.getValue())) {
                return false;
            }
        }
        verified.put(key, Boolean.TRUE);
        return true;
    }

    // ---- pacemaker ----------------------------------------------------------------------------------------

    private void enterRound() {
        roundStartTick = now;
        restartTimer();
        forgetOldRounds();
        // a proposal that arrived early may be for this round now
        Proposal early = waitingForParent.remove(currentRound);
        waitingForParent.keySet().removeIf(r -> r < currentRound);
        if (early != null) {
            onProposal(early.block().proposer(), early);
        }
    }

    /**
     * The round timer: the base timeout, × 1.5 for each round since the highest QC (as Aptos does), capped. Derived
     * from the rounds, not from this validator's own history, so validators that see the same QC wait alike (a
     * validator just restarted would otherwise give up on rounds the others are still waiting in, and with f
     * silent validators every honest vote counts). Gentle and capped on purpose: a crashed leader costs a timeout
     * per rotation, and a doubling timer would make each longer than the last (the "timeouts growing to hours"
     * of some HotStuff ports).
     */
    private void restartTimer() {
        long behind = Math.max(0, currentRound - highQc.round() - 1);
        long timeout = cfg.roundTimeoutTicks();
        for (long i = 0; i < behind && timeout < cfg.maxRoundTimeoutTicks(); i++) {
            timeout = timeout * 3 / 2;
        }
        roundTimeoutTicks = Math.min(timeout, cfg.maxRoundTimeoutTicks());
        roundDeadlineTick = now + roundTimeoutTicks;
    }

    private void advanceRound(TC tc) {
        if (highTc == null || tc.round() > highTc.round()) {
            highTc = tc;
            safetyDirty = true;
        }
        if (tc.round() + 1 > currentRound) {
            currentRound = tc.round() + 1;
            lastRoundTc = tc;
            enterRound();
        }
    }

    private void localTimeout() {
        long qcRound = highQc.round();
        boolean consecutive = currentRound == qcRound + 1 || lastRoundTc != null && currentRound == lastRoundTc.round() + 1;
        if (qcRound >= highestQcRound && currentRound > Math.max(highestVoteRound - 1, qcRound) && consecutive) {
            if (currentRound > highestVoteRound) {
                highestVoteRound = currentRound; // no vote in this round any more
                safetyDirty = true;
            }
            Timeout t = new Timeout(currentRound, highQc, self,
                    crypto.sign(Messages.timeoutBytes(chainId, currentRound, qcRound)), lastRoundTc);
            timeoutSentRound = currentRound;
            outbox.add(new Outbound(null, t));
            onTimeout(self, t);
        }
        restartTimer();
    }

    private void onTimeout(String from, Timeout t) {
        if (!t.voter().equals(from) || !validQc(t.highQc()) || t.highQc().round() >= t.round()
                || t.lastRoundTc() != null && !validTc(t.lastRoundTc())
                || !crypto.verify(from, Messages.timeoutBytes(chainId, t.round(), t.highQc().round()), t.signature())) {
            reject("invalid timeout");
            return;
        }
        processQc(t.highQc());
        if (t.lastRoundTc() != null) {
            advanceRound(t.lastRoundTc());
        }
        if (t.round() < currentRound) {
            return;
        }
        SortedMap<String, Timeout> these = timeouts.computeIfAbsent(t.round(), r -> new TreeMap<>());
        these.putIfAbsent(from, t);
        long stake = validators.stakeOf(these.keySet());
        if (t.round() == currentRound && timeoutSentRound < currentRound && stake >= validators.honestMinority()) {
            localTimeout(); // more than 1/3 gave up on this round: join them (Bracha), so a TC forms
        }
        if (stake >= validators.quorum() && t.round() >= currentRound) {
            SortedMap<String, Long> hqc = new TreeMap<>();
            SortedMap<String, byte[]> sigs = new TreeMap<>();
            these.forEach((v, x) -> {
                hqc.put(v, x.highQc().round());
                sigs.put(v, x.signature());
            });
            TC tc = new TC(t.round(), hqc, sigs);
            verified.put("tc|" + tc.round() + "|" + hqc, Boolean.TRUE);
            advanceRound(tc);
            maybePropose();
        }
    }

    // ---- sync ---------------------------------------------------------------------------------------------

    private Block known(String id) {
        Block b = blocks.get(id);
        return b != null ? b : committedRecent.get(id);
    }

    /** Asks a signer of {@code qc} for its block, a different one each time (one of them may lag or be gone). */
    private void askSync(QC qc) {
        if (qc.signatures().isEmpty()) {
            return;
        }
        List<String> signers = new ArrayList<>(qc.signatures().keySet());
        signers.remove(self);
        if (!signers.isEmpty()) {
            askSync(signers.get((int) Math.floorMod(syncAttempts, signers.size())), qc.blockId());
        }
    }

    private void askSync(String peer, String blockId) {
        if (peer == null || peer.equals(self)) {
            return;
        }
        Long asked = syncAskedAt.get(blockId);
        if (asked != null && now - asked < cfg.roundTimeoutTicks() / 2) {
            return;
        }
        syncAttempts++;
        syncAskedAt.put(blockId, now);
        if (syncAskedAt.size() > 256) {
            syncAskedAt.remove(syncAskedAt.keySet().iterator().next());
        }
        send(peer, new SyncRequest(blockId));
    }

    private void onSyncRequest(String from, SyncRequest r) {
        Deque<Block> chain = new ArrayDeque<>();
        Block b = known(r.blockId());
        int bytes = 0;
        // bounded in count and in bytes (one answer is one network message): the asker fetches the rest by parent
        while (b != null && chain.size() < cfg.syncBatchBlocks() && (chain.isEmpty() || bytes + b.bytes() <= cfg.maxBlockBytes())) {
            chain.push(b);
            bytes += b.bytes();
            b = b.height() == 0 ? null : known(b.parentId());
        }
        if (!chain.isEmpty()) {
            send(from, new SyncResponse(List.copyOf(chain)));
        }
    }

    private void onSyncResponse(String from, SyncResponse r) {
        if (r.blocks().size() > cfg.syncBatchBlocks()) {
            reject("sync too large");
            return;
        }
        for (Block b : r.blocks()) {
            if (known(b.id()) != null) {
                continue;
            }
            if (b.height() <= committedHeight) {
                continue; // below what this validator committed: already decided
            }
            Block parent = known(b.parentId());
            if (parent == null) {
                askSync(from, b.parentId());
                return;
            }
            if (!wellFormed(b) || b.height() != parent.height() + 1 || !validQc(b.justify())) {
                reject("invalid sync block");
                return;
            }
            insert(b);
        }
        // the current round's block, fetched because honest validators voted for it
        for (Block b : r.blocks()) {
            if (b.round() == currentRound && blocks.containsKey(b.id()) && b.proposer().equals(validators.leader(currentRound))) {
                Map<String, SortedMap<String, byte[]>> round = votes.get(currentRound);
                SortedMap<String, byte[]> backing = round == null ? null : round.get(voteKey(b.id(), b.height()));
                if (backing != null && validators.stakeOf(backing.keySet()) >= validators.honestMinority()) {
                    maybeVote(b, lastRoundTc);
                }
            }
        }
        // proposals that waited for these blocks
        for (Proposal p : List.copyOf(waitingForParent.values())) {
            if (p.block().round() == currentRound && known(p.block().parentId()) != null) {
                waitingForParent.remove(p.block().round());
                onProposal(p.block().proposer(), p);
            }
        }
        maybePropose();
    }

    private void insert(Block b) {
        if (blocks.containsKey(b.id())) {
            return;
        }
        blocks.put(b.id(), b);
        inserted.add(b);
        // its QC certifies the parent: may commit the grandparent
        processQc(b.justify());
        if (highQc.blockId().equals(b.id())) {
            tryCommit(b, highQc);
        }
    }

    /** Id and root match the content, and the block names this validator set. */
    private boolean wellFormed(Block b) {
        return b.validatorSetHash().equals(validators.setHash()) && b.consistent(chainId);
    }

    private static String voteKey(String blockId, long height) {
        return blockId + "@" + height;
    }

    private static String qcKey(QC qc) {
        return "qc|" + qc.round() + "|" + qc.height() + "|" + qc.blockId() + "|" + qc.signatures().keySet();
    }

    private void trimWaiting() {
        while (waitingForParent.size() > 16) {
            waitingForParent.remove(((TreeMap<Long, Proposal>) waitingForParent).firstKey());
        }
    }

    private void reject(String why) {
        rejected++;
        lastRejection = why;
    }

    private void send(String to, Message m) {
        if (to.equals(self)) {
            receive(self, m);
        } else {
            outbox.add(new Outbound(to, m));
        }
    }

    // ---- views ----------------------------------------------------------------------------------------------

    public long currentRound() {
        return currentRound;
    }

    public long committedHeight() {
        return committedHeight;
    }

    public String committedId() {
        return committedId;
    }

    public QC highQc() {
        return highQc;
    }

    /** Messages dropped because they did not hold together (bad signatures, invalid blocks, equivocation). */
    public long rejected() {
        return rejected;
    }

    /** Blocks in the tree (uncommitted, and the committed tip), for diagnostics. */
    public int treeSize() {
        return blocks.size();
    }

    public String lastRejection() {
        return lastRejection;
    }

    public String leader() {
        return validators.leader(currentRound);
    }

    /** The current round's timeout (it grows for rounds without a certificate, up to the cap). */
    public long roundTimeoutTicks() {
        return roundTimeoutTicks;
    }

    public long nowTicks() {
        return now;
    }

    public SafetyState safety() {
        return new SafetyState(highestVoteRound, highestQcRound, highQc, highTc);
    }

    public String self() {
        return self;
    }
}
