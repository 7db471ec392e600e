package io.celluler.consensus.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import io.celluler.consensus.chain.Ed25519Crypto;
import io.celluler.consensus.chain.FinalityProofs;
import io.celluler.consensus.chain.Genesis;
import io.celluler.consensus.chain.Wire;
import io.celluler.consensus.config.ConsensusProperties;
import io.celluler.consensus.engine.ConsensusConfig;
import io.celluler.consensus.engine.ConsensusEngine;
import io.celluler.consensus.engine.ConsensusEngine.Admission;
import io.celluler.consensus.engine.ConsensusEngine.Commit;
import io.celluler.consensus.engine.ConsensusEngine.Outbound;
import io.celluler.consensus.engine.ConsensusEngine.Ready;
import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Tx;
import io.celluler.consensus.engine.Validators;
import io.celluler.consensus.store.Ledger;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.CellIdentityStore;
import io.celluler.core.limits.TokenBucket;
import io.celluler.proto.consensus.v1.BlockHeader;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.ValidatorSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The validator: drives the pure {@link ConsensusEngine} on one thread (DESIGN §6). Inputs — ticks, messages
 * from other validators, admitted transactions — go through a bounded {@link Inbox} whose urgent lane (the
 * validators' round messages) is served before submissions and gossip; after each batch of inputs the
 * engine's {@link Ready} is handled in order: persist (safety state, block tree, committed blocks: one database
 * transaction), then send, then apply (head, waiting submitters, block streams).
 *
 * <p>Start-up runs on that thread too, so the service is up at once: it loads the validator key, the genesis
 * (creating a one-validator genesis for this cell when none is configured, which needs the cell id from
 * network-service) and the ledger, then subscribes to the {@code consensus} topic. Until then the API answers
 * UNAVAILABLE with what it waits for.
 */
@Component
public class ConsensusNode implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ConsensusNode.class);

    /** The node as the API sees it (immutable; replaced on each change). */
    public record Head(long height, String blockHash, Instant committedAt) {
    }

    private final ConsensusProperties props;
    private final Ledger ledger;
    private final Inbox inbox;
    private final NetworkTransport transport;
    private final Map<String, CompletableFuture<Long>> commitWaiters = new ConcurrentHashMap<>();
    private final List<Runnable> headListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong droppedInputs = new AtomicLong();

    private volatile Thread loop;
    private volatile boolean running;
    private volatile String startupProblem = "starting";

    // set once started (read by API threads)
    private volatile ValidatorSet validatorSet;
    private volatile Validators validators;
    private volatile String self;
    private volatile Head head = new Head(0, "", Instant.EPOCH);
    private volatile Status status;

    // loop thread only
    private ConsensusEngine engine;
    private final LinkedHashMap<String, Long> pooledAtMillis = new LinkedHashMap<>();
    private final List<Tx> toGossip = new ArrayList<>();
    private long toGossipBytes;
    private final GossipPacer gossipPacer;
    private long lastExpiryMillis;
    private boolean subscribed;
    private long resubscribeAtMillis;
    private final TxOutcomes outcomes = new TxOutcomes(100_000);
    private long ledgerAskedAtMillis;
    private int ledgerAsks;
    // ledger requests served, per asking validator (any thread): each costs a database read
    private final Map<String, TokenBucket> ledgerServing = new ConcurrentHashMap<>();

    /** A snapshot for GetStatus, refreshed by the loop. */
    public record Status(long view, String leader, long viewTimeoutMillis, int poolSize, long rejectedMessages,
            long networkHeight) {
    }

    public ConsensusNode(ConsensusProperties props, Ledger ledger) {
        this.props = props;
        this.ledger = ledger;
        this.inbox = new Inbox(props.inboxCapacity());
        this.transport = new NetworkTransport(props.networkAddress());
        this.gossipPacer = new GossipPacer(props.gossipIntervalMin().toNanos(), props.gossipIntervalMax().toNanos(),
                props.gossipRounds());
    }

    // ---- lifecycle ------------------------------------------------------------------------------------------

    @Override
    public void start() {
        running = true;
        loop = new Thread(this::run, "consensus-loop");
        loop.setDaemon(true);
        inbox.consumer(loop);
        loop.start();
    }

    @Override
    public void stop() {
        running = false;
        Thread t = loop;
        if (t != null) {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        transport.close();
        commitWaiters.values().forEach(f -> f.completeExceptionally(new IllegalStateException("consensus-service is stopping")));
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        // after the gRPC server (which starts late and stops early), so no call finds the node gone
        return Integer.MAX_VALUE - 2000;
    }

    /** Null once running; otherwise what the node waits for (for UNAVAILABLE answers). */
    public String notReady() {
        return status == null ? startupProblem : null;
    }

    /** The API's form of the validator set (with keys), made once at start-up. */
    public ValidatorSet validatorSet() {
        return validatorSet;
    }

    public Validators validators() {
        return validators;
    }

    public String self() {
        return self;
    }

    public Head head() {
        return head;
    }

    public Status status() {
        return status;
    }

    public long droppedInputs() {
        return droppedInputs.get();
    }

    public NetworkTransport transport() {
        return transport;
    }

    public TxOutcomes.Outcome outcome(String txId) {
        return outcomes.get(txId);
    }

    /** Called (on the loop thread) after each new commit: block streams wake up. */
    public void onNewHead(Runnable r) {
        headListeners.add(r);
    }

    public void removeHeadListener(Runnable r) {
        headListeners.remove(r);
    }

    // ---- API entry points (any thread) ----------------------------------------------------------------------

    /**
     * Offers a checked transaction to the pool; completes with the engine's verdict. With {@code commitWaiter}
     * (registered first, so a fast commit is not missed) the caller also learns the commit height.
     */
    public CompletableFuture<Admission> submit(Tx tx, CompletableFuture<Long> commitWaiter) {
        CompletableFuture<Admission> result = new CompletableFuture<>();
        if (commitWaiter != null) {
            commitWaiters.put(tx.id(), commitWaiter);
        }
        boolean queued = inbox.offer(() -> {
            Admission a = engine.submit(tx);
            if (a == Admission.ADMITTED) {
                pooledAtMillis.put(tx.id(), System.currentTimeMillis());
                toGossip.add(tx);
                toGossipBytes += tx.size();
            }
            result.complete(a);
        });
        if (!queued) {
            droppedInputs.incrementAndGet();
            result.complete(Admission.POOL_FULL);
        }
        result.thenAccept(a -> {
            if (a != Admission.ADMITTED && a != Admission.KNOWN && commitWaiter != null) {
                commitWaiters.remove(tx.id(), commitWaiter);
            }
        });
        return result;
    }

    public void forgetWaiter(String txId, CompletableFuture<Long> waiter) {
        commitWaiters.remove(txId, waiter);
    }

    /** True while the transaction waits in this validator's pool (answered by the loop). */
    public CompletableFuture<Boolean> pending(String txId) {
        CompletableFuture<Boolean> r = new CompletableFuture<>();
        if (!inbox.offer(() -> r.complete(engine.pending(txId)))) {
            r.complete(false);
        }
        return r;
    }

    // ---- the loop -------------------------------------------------------------------------------------------

    private void run() {
        try {
            startUp();
        } catch (InterruptedException e) {
            return;
        } catch (Exception e) {
            startupProblem = "consensus-service could not start: " + e.getMessage();
            log.error(startupProblem, e);
            return;
        }
        long tickNanos = props.tick().toNanos();
        long nextTick = System.nanoTime() + tickNanos;
        while (running) {
            try {
                inbox.awaitInput(nextTick - System.nanoTime());
                if (Thread.interrupted()) {
                    return;
                }
                // the round's messages first, then a slice of submissions and gossip; a round message that arrives
                // meanwhile ends the slice, so votes go out (flush) without waiting behind a queue of submissions
                int handled = 0;
                for (Runnable r; handled < 4096 && (r = inbox.pollUrgent()) != null; handled++) {
                    r.run();
                }
                for (Runnable r; handled < 4096 && (r = inbox.pollNormal()) != null; ) {
                    r.run();
                    if (++handled % 64 == 0 && inbox.hasUrgent()) {
                        break;
                    }
                }
                long now = System.nanoTime();
                if (now >= nextTick) {
                    engine.tick(System.currentTimeMillis());
                    nextTick = Math.max(nextTick + tickNanos, now - tickNanos); // no burst of ticks after a stall
                    housekeeping();
                }
                flush();
                gossipPacer.observeRound(engine.currentRound(), now);
                gossip(now);
            } catch (RuntimeException e) {
                // the ledger could not be written: nothing was sent; stop rather than vote without durable state
                startupProblem = "consensus-service stopped: " + e.getMessage();
                status = null;
                log.error("consensus loop stopped", e);
                return;
            }
        }
    }

    private void startUp() throws Exception {
        Files.createDirectories(props.dataDir());
        CellIdentity key = CellIdentityStore.loadOrCreate(props.dataDir().resolve("validator-key"), new SecureRandom());
        String cellId = null;
        while (cellId == null) {
            try {
                cellId = transport.cellId();
            } catch (RuntimeException e) {
                startupProblem = "waiting for network-service at " + props.networkAddress() + " (" + e.getMessage() + ")";
                Thread.sleep(500);
            }
        }
        Genesis g = loadGenesis(cellId, key);
        Genesis.GenesisValidator me = g.validator(cellId);
        if (me == null) {
            throw new IllegalStateException("this cell (" + cellId + ") is not a validator of chain " + g.chainName()
                    + " (" + g.chainId() + "); following a chain as a non-validator is not built yet");
        }
        if (!me.publicKey().equals(java.util.HexFormat.of().formatHex(key.publicKey()))) {
            throw new IllegalStateException("the genesis lists validator key " + me.publicKey() + " for this cell, but its key at "
                    + props.dataDir().resolve("validator-key") + " is " + java.util.HexFormat.of().formatHex(key.publicKey()));
        }
        Validators vs = g.toValidators();
        ConsensusConfig cfg = engineConfig();
        startupProblem = "indexing the ledger's transactions";
        ledger.openIndex();
        List<Block> committed = new ArrayList<>();
        committed.add(Block.genesis(vs));
        committed.addAll(ledger.tail(cfg.keptCommittedBlocks()));
        engine = new ConsensusEngine(cfg, vs, cellId, new Ed25519Crypto(key, g.publicKeys()),
                ledger.safety(), committed, ledger.tree());
        this.validatorSet = FinalityProofs.validatorSet(g);
        this.validators = vs;
        this.self = cellId;
        ledger.byHeight(ledger.headHeight()).ifPresent(s -> head = new Head(s.block().height(), s.block().id(), s.committedAt()));
        subscribe();
        flush();
        refreshStatus();
        log.info("validator {} of chain {} ({} validators) started at height {}", cellId, g.chainId(), vs.size(), head.height());
    }

    private Genesis loadGenesis(String cellId, CellIdentity key) throws IOException {
        if (props.genesisFile() != null) {
            return Genesis.read(props.genesisFile());
        }
        Path file = props.dataDir().resolve("genesis.json");
        if (Files.exists(file)) {
            return Genesis.read(file);
        }
        Genesis g = Genesis.equalStakes(props.chainName(), Instant.now(), Map.of(cellId, key.publicKey()));
        g.write(file);
        log.info("created {}: a chain with this cell as its only validator", file);
        return g;
    }

    ConsensusConfig engineConfig() {
        long tick = props.tick().toMillis();
        return new ConsensusConfig((int) (props.roundTimeout().toMillis() / tick), (int) (props.maxRoundTimeout().toMillis() / tick),
                (int) (props.idleProposalDelay().toMillis() / tick), props.maxBlockTxs(), (int) props.maxBlockSize().toBytes(),
                props.maxPoolTxs(), Math.min(256, props.keptCommittedBlocks()), props.keptCommittedBlocks(),
                props.keptCommittedSize().toBytes());
    }

    private void subscribe() {
        subscribed = true;
        transport.subscribe((from, payload) -> {
            Wire.Inbound in = Wire.decode(validators.chainId(), from, payload);
            if (in == null) {
                return;
            }
            Runnable r = switch (in) {
                case Wire.EngineMessage m -> () -> engine.receive(from, m.message());
                case Wire.LedgerRequest q -> {
                    serveLedger(from, q.fromHeight());
                    yield null;
                }
                case Wire.LedgerBlocks lb -> {
                    List<Wire.CommittedBlock> proven = proven(from, lb.blocks());
                    yield () -> adopt(proven);
                }
                case Wire.Transactions t -> () -> {
                    if (!validators.contains(from)) {
                        return;
                    }
                    long now = System.currentTimeMillis();
                    for (Tx tx : t.txs()) {
                        if (engine.submit(tx) == Admission.ADMITTED) {
                            pooledAtMillis.put(tx.id(), now);
                        }
                    }
                };
            };
            boolean urgent = !(in instanceof Wire.Transactions);
            if (r != null && !(urgent ? inbox.offerUrgent(r) : inbox.offer(r))) {
                droppedInputs.incrementAndGet();
            }
        }, () -> inbox.offerUrgent(() -> {
            subscribed = false;
            resubscribeAtMillis = System.currentTimeMillis() + 1000;
        }));
    }

    private void housekeeping() {
        long now = System.currentTimeMillis();
        if (!subscribed && now >= resubscribeAtMillis) {
            subscribe();
        }
        askLedgerIfFarBehind(now);
        if (now - lastExpiryMillis >= 1000) {
            lastExpiryMillis = now;
            long cutoff = now - props.poolTtl().toMillis();
            Iterator<Map.Entry<String, Long>> it = pooledAtMillis.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<String, Long> e = it.next();
                if (!engine.pending(e.getKey())) {
                    it.remove(); // committed meanwhile
                } else if (e.getValue() < cutoff) {
                    engine.drop(e.getKey());
                    outcomes.expired(e.getKey(), "not committed within the pool's time to live (" + props.poolTtl() + ")");
                    it.remove();
                } else {
                    break;
                }
            }
            refreshStatus();
        }
    }

    private void refreshStatus() {
        // a certificate's block is one above the committed tip in the steady state: more means catching up
        long network = Math.max(engine.committedHeight(), engine.highQc().height() - 1);
        status = new Status(engine.currentRound(), engine.leader(), engine.roundTimeoutTicks() * props.tick().toMillis(),
                engine.poolSize(), engine.rejected(), network);
    }

    /** Persist, then send, then apply. */
    private void flush() {
        Ready r = engine.ready();
        if (r.isEmpty()) {
            return;
        }
        List<Ledger.Committed> commits = new ArrayList<>();
        long stored = head.height();
        List<Commit> cs = r.commits();
        for (int i = 0; i < cs.size(); i++) {
            Commit c = cs.get(i);
            if (c.block().height() <= stored) {
                continue; // found again after a restart: already in the ledger
            }
            commits.add(new Ledger.Committed(c.block(), finality(cs, i)));
        }
        ledger.persist(r.safety(), r.blocks(), commits, Instant.now());
        String chainId = validators.chainId();
        for (Outbound o : r.messages()) {
            byte[] payload = Wire.encode(chainId, o.message());
            if (o.to() == null) {
                for (String v : validators.ids()) {
                    if (!v.equals(self)) {
                        transport.send(v, payload, false);
                    }
                }
            } else {
                transport.send(o.to(), payload, false);
            }
        }
        for (String id : r.expired()) {
            pooledAtMillis.remove(id);
            outcomes.expired(id, "its valid_until_height passed");
            CompletableFuture<Long> w = commitWaiters.remove(id);
            if (w != null) {
                w.completeExceptionally(new IllegalStateException("expired: its valid_until_height passed"));
            }
        }
        applyCommits(commits);
    }

    /** After the commits are stored: the head moves, their submitters learn the height, block streams wake up. */
    private void applyCommits(List<Ledger.Committed> commits) {
        if (commits.isEmpty()) {
            return;
        }
        Ledger.Committed last = commits.get(commits.size() - 1);
        head = new Head(last.block().height(), last.block().id(), Instant.now());
        for (Ledger.Committed c : commits) {
            for (Tx tx : c.block().txs()) {
                pooledAtMillis.remove(tx.id());
                CompletableFuture<Long> w = commitWaiters.remove(tx.id());
                if (w != null) {
                    w.complete(c.block().height());
                }
            }
        }
        headListeners.forEach(Runnable::run);
        refreshStatus();
    }

    // ---- ledger-to-ledger catch-up --------------------------------------------------------------------------

    /**
     * A validator that fell behind by more than {@code ledger-sync-threshold} blocks (the certificates it sees
     * are that far above its committed tip) asks a signer of the highest certificate for committed blocks from its
     * tip on, one request at a time. Block sync inside the engine fetches a block's ancestors backwards, one batch
     * per round trip, and only from what the others keep in memory; this one reads forwards from their ledgers,
     * however far back, and each block comes with its finality proof.
     */
    private void askLedgerIfFarBehind(long nowMillis) {
        long tip = engine.committedHeight();
        long certified = engine.highQc().height();
        if (certified - tip <= props.ledgerSyncThreshold() || nowMillis - ledgerAskedAtMillis < 2_000) {
            return;
        }
        List<String> signers = new ArrayList<>(engine.highQc().signatures().keySet());
        signers.remove(self);
        if (signers.isEmpty()) {
            return;
        }
        String peer = signers.get(Math.floorMod(ledgerAsks++, signers.size()));
        ledgerAskedAtMillis = nowMillis;
        transport.send(peer, Wire.encodeLedgerRequest(validators.chainId(), tip + 1), true);
        log.info("committed height {} is {} blocks below the certified {}: asking {} for its ledger", tip, certified - tip,
                certified, peer);
    }

    /** Answers a validator's ledger request (on a gRPC thread: a database read stays off the loop). */
    private void serveLedger(String from, long fromHeight) {
        if (!validators.contains(from) || from.equals(self) || fromHeight < 1) {
            return;
        }
        long now = System.nanoTime();
        if (!ledgerServing.computeIfAbsent(from, k -> new TokenBucket(5, 5, now)).tryTake(now)) {
            return;
        }
        int budget = (int) props.maxBlockSize().toBytes();
        List<Wire.CommittedBlock> out = new ArrayList<>();
        int bytes = 0;
        // read a few at a time: blocks run from empty to max-block-size, and one answer is one network message
        long next = fromHeight;
        reading:
        while (out.size() < 256) {
            List<Ledger.Stored> page = ledger.from(next, 8);
            for (Ledger.Stored s : page) {
                int size = s.block().bytes() + s.finality().getSerializedSize();
                if (!out.isEmpty() && bytes + size > budget) {
                    break reading;
                }
                out.add(new Wire.CommittedBlock(s.block(), s.finality()));
                bytes += size;
                next = s.block().height() + 1;
            }
            if (page.size() < 8) {
                break;
            }
        }
        if (!out.isEmpty()) {
            transport.send(from, Wire.encodeLedgerResponse(validators.chainId(), out), true);
        }
    }

    /**
     * The leading blocks of a ledger answer whose finality proofs verify against this chain's validator set and
     * name exactly that block (on a gRPC thread: signatures are checked off the loop); the first that fails ends
     * the list.
     */
    private List<Wire.CommittedBlock> proven(String from, List<Wire.CommittedBlock> blocks) {
        List<Wire.CommittedBlock> out = new ArrayList<>();
        if (!validators.contains(from)) {
            return out;
        }
        for (Wire.CommittedBlock c : blocks) {
            FinalityProof p = c.finality();
            if (!p.getHeader().getBlockHash().equals(c.block().id())) {
                log.warn("ledger answer from {}: block {} does not match its proof's header", from, c.block().height());
                break;
            }
            FinalityProofs.Verdict v = FinalityProofs.verify(p.toBuilder().setValidatorSet(validatorSet).build(),
                    validators.setHash());
            if (!v.ok()) {
                log.warn("ledger answer from {}: the proof of block {} does not verify: {}", from, c.block().height(), v.reason());
                break;
            }
            out.add(c);
        }
        return out;
    }

    /** Takes proven committed blocks that extend the tip (on the loop): stored, then applied. */
    private void adopt(List<Wire.CommittedBlock> proven) {
        flush(); // what the engine decided before is stored first
        List<Ledger.Committed> adopted = new ArrayList<>();
        for (Wire.CommittedBlock c : proven) {
            if (c.block().height() <= engine.committedHeight()) {
                continue;
            }
            if (!engine.adoptCommitted(c.block())) {
                break;
            }
            adopted.add(new Ledger.Committed(c.block(), c.finality()));
        }
        if (!adopted.isEmpty()) {
            ledger.persist(null, List.of(), adopted, Instant.now());
            applyCommits(adopted);
            ledgerAskedAtMillis = 0; // it moved: the next request (if still far behind) may go at once
        }
    }

    /**
     * The finality proof of commit {@code i} (without the validator set): its header, the headers of the blocks
     * committed with it up to the certified child, and the child's certificate.
     */
    private FinalityProof finality(List<Commit> cs, int i) {
        Commit c = cs.get(i);
        String chainId = validators.chainId();
        FinalityProof.Builder p = FinalityProof.newBuilder().setHeader(Wire.header(chainId, c.block()));
        for (int j = i + 1; j < cs.size() && cs.get(j).certifiedChild().id().equals(c.certifiedChild().id()); j++) {
            p.addCommitChain(Wire.header(chainId, cs.get(j).block()));
        }
        BlockHeader child = Wire.header(chainId, c.certifiedChild());
        p.addCommitChain(child);
        p.setCertificate(Wire.certificate(c.childQc(), validators));
        return p.build();
    }

    private void gossip(long nowNanos) {
        if (toGossip.isEmpty() || validators.size() == 1) {
            toGossip.clear();
            toGossipBytes = 0;
            return;
        }
        // paced (GossipPacer): each message costs the network-services a signature, a verification and three gRPC
        // hops whatever its size, which on a small machine weighs more than the bytes (docs/benchmarks.md)
        int maxBytes = (int) props.maxBlockSize().toBytes();
        if (!gossipPacer.due(nowNanos, toGossipBytes >= maxBytes)) {
            return;
        }
        gossipPacer.sent(nowNanos);
        int from = 0;
        while (from < toGossip.size()) {
            int bytes = 0;
            int to = from;
            while (to < toGossip.size() && (to == from || bytes + toGossip.get(to).size() <= maxBytes)) {
                bytes += toGossip.get(to).size();
                to++;
            }
            byte[] payload = Wire.encodeTransactions(validators.chainId(), toGossip.subList(from, to));
            for (String v : validators.ids()) {
                if (!v.equals(self)) {
                    transport.send(v, payload, true);
                }
            }
            from = to;
        }
        toGossip.clear();
        toGossipBytes = 0;
    }
}
