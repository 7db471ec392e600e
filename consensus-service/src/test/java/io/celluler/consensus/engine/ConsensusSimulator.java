package io.celluler.consensus.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

import io.celluler.consensus.engine.ConsensusEngine.Commit;
import io.celluler.consensus.engine.ConsensusEngine.Outbound;
import io.celluler.consensus.engine.ConsensusEngine.Ready;
import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.Messages.Message;
import io.celluler.consensus.engine.Messages.Proposal;
import io.celluler.consensus.engine.Messages.Timeout;
import io.celluler.consensus.engine.Messages.Vote;
import io.celluler.core.hash.Sha256;

/**
 * N validators on a simulated network and simulated disks, in the spirit of TigerBeetle's VOPR (DESIGN §6): one
 * seed fixes everything (delays, loss, duplication, reordering, partitions, crashes, Byzantine behaviour, client
 * load), so a failure replays exactly. Each step checks the safety invariants:
 * <ul>
 *   <li>no two honest validators commit different blocks at one height;</li>
 *   <li>every committed transaction was submitted by a client;</li>
 *   <li>no honest validator ever signs two different votes in one round (across restarts).</li>
 * </ul>
 * Disks: what the engine asks to persist (safety state, blocks) is durable before its messages leave, as the
 * service does it; the ledger of applied commits is synced only every {@link #ledgerSyncTicks} ticks, so a crash
 * loses its unsynced tail (the restarted validator commits those blocks again).
 */
final class ConsensusSimulator {

    /** How a faulty validator misbehaves. */
    enum Behaviour {
        HONEST,
        /** Sends nothing at all. */
        SILENT,
        /** As leader, proposes two different blocks for the round, one to each half of the others. */
        EQUIVOCATE,
        /** Sends votes and timeouts with forged signatures, and votes in other validators' names. */
        FORGE,
        /** Sends old votes, timeouts and proposals again, to everyone. */
        REPLAY,
        /** As leader, proposes broken blocks: wrong id, wrong height, a certificate that does not verify. */
        INVALID
    }

    static final class Node {
        final String id;
        Behaviour behaviour = Behaviour.HONEST;
        ConsensusEngine engine;
        boolean up = true;
        // durable state
        SafetyState safety = SafetyState.INITIAL;
        final Map<String, Block> blocks = new LinkedHashMap<>();
        final List<Block> ledger = new ArrayList<>();
        int syncedLedger;
        // what it signed (lifetime), for the double-vote invariant
        final Map<Long, String> votedInRound = new HashMap<>();
        final List<Message> seen = new ArrayList<>();

        Node(String id) {
            this.id = id;
        }

        long height() {
            return ledger.isEmpty() ? 0 : ledger.get(ledger.size() - 1).height();
        }
    }

    private record InFlight(long at, long seq, String from, String to, Message message) {
    }

    final long seed;
    final SplittableRandom random;
    final ConsensusConfig cfg;
    final Validators validators;
    final Map<String, Node> nodes = new LinkedHashMap<>();
    final FakeCrypto.Keys keys;
    private final PriorityQueue<InFlight> network = new PriorityQueue<>(
            (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private long seq;
    long now;
    int minDelayTicks = 1;
    int maxDelayTicks = 3;
    double loss;
    double duplication;
    int ledgerSyncTicks = 20;
    /** Node id → partition group; messages between different groups are dropped. Empty: no partition. */
    final Map<String, Integer> partition = new HashMap<>();
    final Set<String> submitted = new HashSet<>();
    final Map<Long, String> committedAt = new TreeMap<>();
    long txCounter;
    long messagesSent;
    boolean trace;

    static String describe(Message m) {
        return switch (m) {
            case Proposal p -> "Proposal r=" + p.block().round() + " h=" + p.block().height() + " qc=" + p.block().justify().round()
                    + " tc=" + (p.lastRoundTc() == null ? "-" : p.lastRoundTc().round() + "/max" + p.lastRoundTc().maxHighQcRound());
            case Vote v -> "Vote r=" + v.round() + " " + v.blockId().substring(0, 6);
            case Timeout t -> "Timeout r=" + t.round() + " hqc=" + t.highQc().round();
            default -> m.getClass().getSimpleName();
        };
    }

    /** Messages posted, by "sender kind", for diagnostics. */
    final Map<String, Integer> posted = new TreeMap<>();

    ConsensusSimulator(long seed, int n, ConsensusConfig cfg) {
        this(seed, equalStakes(n), cfg);
    }

    ConsensusSimulator(long seed, Map<String, Long> stakes, ConsensusConfig cfg) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.cfg = cfg;
        this.validators = new Validators("sim-" + seed, stakes);
        this.keys = new FakeCrypto.Keys(seed);
        for (String id : validators.ids()) {
            Node node = new Node(id);
            node.engine = ConsensusEngine.genesis(cfg, validators, id, keys.of(id));
            nodes.put(id, node);
        }
    }

    static Map<String, Long> equalStakes(int n) {
        Map<String, Long> s = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            s.put("v" + i, 100L);
        }
        return s;
    }

    Node node(int i) {
        return nodes.get(validators.ids().get(i));
    }

    List<Node> honest() {
        return nodes.values().stream().filter(n -> n.behaviour == Behaviour.HONEST).toList();
    }

    // ---- clients ---------------------------------------------------------------------------------------------

    /** A client's transaction, offered to every validator that is up (the pool's gossip, simplified). */
    void submitTx() {
        byte[] data = ("tx-" + seed + "-" + (txCounter++)).getBytes(StandardCharsets.UTF_8);
        Tx tx = Tx.of(data);
        submitted.add(tx.id());
        for (Node n : nodes.values()) {
            if (n.up) {
                n.engine.submit(tx);
            }
        }
    }

    // ---- faults ------------------------------------------------------------------------------------------------

    void crash(Node n) {
        n.up = false;
        n.engine = null;
        // the ledger's unsynced tail is lost; safety state and blocks were durable before anything left
        while (n.ledger.size() > n.syncedLedger) {
            n.ledger.remove(n.ledger.size() - 1);
        }
    }

    void restart(Node n) {
        List<Block> recent = new ArrayList<>();
        recent.add(Block.genesis(validators));
        recent.addAll(n.ledger.subList(Math.max(0, n.ledger.size() - cfg.keptCommittedBlocks()), n.ledger.size()));
        n.engine = new ConsensusEngine(cfg, validators, n.id, keys.of(n.id), n.safety, recent, List.copyOf(n.blocks.values()));
        n.up = true;
        drain(n);
    }

    void partition(List<List<Node>> groups) {
        partition.clear();
        for (int g = 0; g < groups.size(); g++) {
            for (Node n : groups.get(g)) {
                partition.put(n.id, g);
            }
        }
    }

    void heal() {
        partition.clear();
    }

    // ---- running ----------------------------------------------------------------------------------------------

    /** One tick: deliver what is due, tick every engine, check the invariants. */
    void step() {
        now++;
        while (!network.isEmpty() && network.peek().at <= now) {
            InFlight m = network.poll();
            Node to = nodes.get(m.to);
            if (to.up && to.behaviour != Behaviour.SILENT) {
                if (trace) {
                    System.out.println("TRACE t=" + now + " " + m.from + "->" + m.to + " " + describe(m.message)
                            + " | to r=" + to.engine.currentRound() + " hqc=" + to.engine.highQc().round());
                }
                to.engine.receive(m.from, m.message);
                if (to.behaviour == Behaviour.REPLAY && to.seen.size() < 2000) {
                    to.seen.add(m.message);
                }
                drain(to);
            }
        }
        for (Node n : nodes.values()) {
            if (n.up) {
                n.engine.tick(now * 10); // 10 ms ticks, as the service drives them
                drain(n);
            }
            if (n.up && now % ledgerSyncTicks == 0) {
                n.syncedLedger = n.ledger.size();
            }
        }
    }

    void run(long ticks) {
        for (long i = 0; i < ticks; i++) {
            step();
        }
    }

    /** Runs until {@code done} or the tick budget; returns the ticks it took, or -1. */
    long runUntil(java.util.function.BooleanSupplier done, long maxTicks) {
        long start = now;
        while (now - start < maxTicks) {
            if (done.getAsBoolean()) {
                return now - start;
            }
            step();
        }
        return done.getAsBoolean() ? now - start : -1;
    }

    private void drain(Node n) {
        Ready r = n.engine.ready();
        if (r.safety() != null) {
            n.safety = r.safety();
        }
        for (Block b : r.blocks()) {
            n.blocks.put(b.id(), b);
        }
        for (Outbound o : r.messages()) {
            checkVote(n, o.message());
            for (Outbound out : misbehave(n, o)) {
                send(n, out);
            }
        }
        for (Commit c : r.commits()) {
            apply(n, c);
        }
        if (n.blocks.size() > 4 * cfg.keptCommittedBlocks()) {
            long keepAbove = n.height() - cfg.keptCommittedBlocks();
            n.blocks.values().removeIf(b -> b.height() < keepAbove);
        }
    }

    private void checkVote(Node n, Message m) {
        if (n.behaviour == Behaviour.HONEST && m instanceof Vote v) {
            String before = n.votedInRound.putIfAbsent(v.round(), v.blockId());
            if (before != null && !before.equals(v.blockId())) {
                throw new AssertionError("seed " + seed + ": " + n.id + " voted twice in round " + v.round());
            }
        }
    }

    private void apply(Node n, Commit c) {
        Block b = c.block();
        if (b.height() <= n.height()) {
            return; // a restarted validator commits again what its ledger kept: idempotent
        }
        if (b.height() != n.height() + 1) {
            throw new AssertionError("seed " + seed + ": " + n.id + " committed height " + b.height() + " after " + n.height());
        }
        n.ledger.add(b);
        if (n.behaviour != Behaviour.HONEST) {
            return;
        }
        String first = committedAt.putIfAbsent(b.height(), b.id());
        if (first != null && !first.equals(b.id())) {
            throw new AssertionError("seed " + seed + ": SAFETY: two blocks committed at height " + b.height());
        }
        for (Tx tx : b.txs()) {
            if (!submitted.contains(tx.id())) {
                throw new AssertionError("seed " + seed + ": committed a transaction nobody submitted: " + tx.id());
            }
        }
    }

    private void send(Node from, Outbound o) {
        if (o.to() == null) {
            for (String id : validators.ids()) {
                if (!id.equals(from.id)) {
                    post(from.id, id, o.message());
                }
            }
        } else {
            post(from.id, o.to(), o.message());
        }
    }

    private void post(String from, String to, Message m) {
        posted.merge(from + " " + m.getClass().getSimpleName(), 1, Integer::sum);
        Integer gf = partition.get(from);
        Integer gt = partition.get(to);
        if (gf != null && gt != null && !gf.equals(gt)) {
            return;
        }
        if (random.nextDouble() < loss) {
            return;
        }
        int copies = random.nextDouble() < duplication ? 2 : 1;
        for (int i = 0; i < copies; i++) {
            long delay = minDelayTicks + random.nextInt(maxDelayTicks - minDelayTicks + 1);
            network.add(new InFlight(now + delay, seq++, from, to, m));
            messagesSent++;
        }
    }

    // ---- Byzantine behaviour -------------------------------------------------------------------------------

    private List<Outbound> misbehave(Node n, Outbound o) {
        Message m = o.message();
        return switch (n.behaviour) {
            case HONEST -> List.of(o);
            case SILENT -> List.of();
            case EQUIVOCATE -> m instanceof Proposal p ? equivocate(n, p) : List.of(o);
            case FORGE -> forge(n, o);
            case REPLAY -> {
                List<Outbound> out = new ArrayList<>(List.of(o));
                if (!n.seen.isEmpty()) {
                    for (int i = 0; i < 3; i++) {
                        out.add(new Outbound(null, n.seen.get(random.nextInt(n.seen.size()))));
                    }
                }
                yield out;
            }
            case INVALID -> m instanceof Proposal p ? List.of(new Outbound(null, broken(n, p))) : List.of(o);
        };
    }

    private List<Outbound> equivocate(Node n, Proposal p) {
        Block a = p.block();
        byte[] data = ("conflict-" + a.round()).getBytes(StandardCharsets.UTF_8);
        Tx fake = Tx.of(data);
        submitted.add(fake.id()); // a transaction the Byzantine leader made up is still a submitted one
        Block b = Block.create(validators, a.round(), a.height(), a.justify(), n.id, List.of(fake), a.proposedAtMillis());
        Proposal other = new Proposal(b, p.lastRoundTc(), keys.of(n.id).sign(Messages.proposalBytes(validators.chainId(), b.id())));
        List<Outbound> out = new ArrayList<>();
        List<String> others = validators.ids().stream().filter(id -> !id.equals(n.id)).toList();
        for (int i = 0; i < others.size(); i++) {
            out.add(new Outbound(others.get(i), i % 2 == 0 ? p : other));
        }
        return out;
    }

    private List<Outbound> forge(Node n, Outbound o) {
        List<Outbound> out = new ArrayList<>(List.of(o));
        if (o.message() instanceof Vote v) {
            byte[] garbage = new byte[32];
            random.nextBytes(garbage);
            // a vote for a block that does not exist, a forged signature, and a vote in someone else's name
            out.add(new Outbound(o.to(), new Vote(v.round(), Sha256.hexOf(garbage), v.height(), n.id, v.signature())));
            out.add(new Outbound(o.to(), new Vote(v.round(), v.blockId(), v.height(), n.id, garbage)));
            String victim = validators.ids().get(random.nextInt(validators.size()));
            out.add(new Outbound(o.to(), new Vote(v.round(), v.blockId(), v.height(), victim, v.signature())));
        } else if (o.message() instanceof Timeout t) {
            byte[] garbage = new byte[32];
            random.nextBytes(garbage);
            out.add(new Outbound(o.to(), new Timeout(t.round() + 1, t.highQc(), n.id, garbage, t.lastRoundTc())));
        }
        return out;
    }

    private Proposal broken(Node n, Proposal p) {
        Block b = p.block();
        FakeCrypto signer = keys.of(n.id);
        return switch (random.nextInt(3)) {
            case 0 -> new Proposal(new Block(Sha256.hexOf(new byte[] {1}), b.round(), b.height(), b.parentId(), b.justify(),
                    b.proposer(), b.txs(), b.txRoot(), b.validatorSetHash(), b.proposedAtMillis()), p.lastRoundTc(), p.signature());
            case 1 -> {
                Block wrongHeight = Block.create(validators, b.round(), b.height() + 5, b.justify(), n.id, b.txs(), b.proposedAtMillis());
                yield new Proposal(wrongHeight, p.lastRoundTc(),
                        signer.sign(Messages.proposalBytes(validators.chainId(), wrongHeight.id())));
            }
            default -> {
                TreeMap<String, byte[]> fakeSigs = new TreeMap<>();
                validators.ids().forEach(id -> fakeSigs.put(id, new byte[32]));
                Messages.QC fakeQc = new Messages.QC(b.round() - 1, Sha256.hexOf(new byte[] {2}), b.height() - 1, fakeSigs);
                Block bad = Block.create(validators, b.round(), b.height(), fakeQc, n.id, b.txs(), b.proposedAtMillis());
                yield new Proposal(bad, p.lastRoundTc(), signer.sign(Messages.proposalBytes(validators.chainId(), bad.id())));
            }
        };
    }

    // ---- views ---------------------------------------------------------------------------------------------

    long minHonestHeight() {
        return honest().stream().filter(n -> n.up).mapToLong(Node::height).min().orElse(0);
    }

    long maxHonestHeight() {
        return honest().stream().mapToLong(Node::height).max().orElse(0);
    }

    long committedTxs() {
        return committedAt.size() == 0 ? 0 : honest().stream().mapToLong(n -> n.ledger.stream()
                .mapToLong(b -> b.txs().size()).sum()).max().orElse(0);
    }

    /** Each validator's round, highest QC, committed height, votes and tree, for replays. */
    String describeState() {
        StringBuilder sb = new StringBuilder("t=" + now);
        for (Node nd : nodes.values()) {
            ConsensusEngine e = nd.engine;
            sb.append(nd.up ? String.format(" | %s %s r=%d hqc=%d h=%d vote=%d lock=%d leader=%s tree=%d rejected=%d(%s)",
                    nd.id, nd.behaviour, e.currentRound(), e.highQc().round(), nd.height(), e.safety().highestVoteRound(),
                    e.safety().highestQcRound(), e.leader(), e.treeSize(), e.rejected(), e.lastRejection())
                    : " | " + nd.id + " down");
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "sim seed=" + seed + " now=" + now + " heights=" + Arrays.toString(
                nodes.values().stream().mapToLong(Node::height).toArray());
    }
}
