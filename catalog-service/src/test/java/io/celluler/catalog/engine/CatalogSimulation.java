package io.celluler.catalog.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.CatalogReplica.Change;
import io.celluler.catalog.engine.CatalogReplica.ChangeKind;
import io.celluler.catalog.engine.CatalogReplica.DeltaBatch;

/**
 * A deterministic simulation of catalog replicas (DESIGN §6, in the spirit of TigerBeetle's VOPR): N replicas make
 * random changes while a simulated network delays, loses, duplicates and reorders their gossip and anti-entropy
 * messages, partitions them and crashes them (a crashed replica comes back from what it had persisted: everything
 * it acknowledged). Every step checks that no replica shows an entry it has seen deleted; after the faults stop,
 * the replicas must converge to the same state, hold exactly the entries created and not deleted, and collect
 * every tombstone. A seed replays a run exactly.
 */
final class CatalogSimulation {

    record Config(int replicas, int faultTicks, int healTicks, double changeRate, double loss, double duplication,
            int maxDelayTicks, double partitionRate, double crashRate) {

        static Config standard() {
            return new Config(5, 1_500, 3_000, 0.6, 0.15, 0.05, 6, 0.01, 0.004);
        }
    }

    record Outcome(long seed, int ticksToConverge, int created, int deleted, int collected, long messages) {
    }

    private sealed interface Msg permits Gossip, Ack, AeAsk, AeAnswer {
    }

    private record Gossip(DeltaBatch batch) implements Msg {
    }

    private record Ack(Map<String, Long> knowledge) implements Msg {
    }

    private record AeAsk(long session, AntiEntropy.Request request) implements Msg {
    }

    private record AeAnswer(long session, AntiEntropy.Response response) implements Msg {
    }

    private record InFlight(long at, long order, int from, int to, Msg msg) {
    }

    private final long seed;
    private final Config config;
    private final Random rnd;
    private final String[] names;
    private final CatalogReplica[] replicas;
    private final boolean[] down;
    private final int[] downUntil;
    private final long[] skewMillis;
    private final int[] group; // partition: replicas talk only within their group
    private final List<Set<String>> seenDeleted = new ArrayList<>();
    private final AntiEntropy.Session[] sessions;
    private final long[] sessionIds;
    private final int[] sessionStarted;
    private final PriorityQueue<InFlight> network = new PriorityQueue<>((a, b) -> a.at != b.at
            ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));
    private final Set<String> created = new TreeSet<>();
    private final Set<String> deleted = new TreeSet<>();
    private long order;
    private long nextSession = 1;
    private int tick;
    private int collected;
    private long messages;

    CatalogSimulation(long seed, Config config) {
        this.seed = seed;
        this.config = config;
        this.rnd = new Random(seed);
        int n = config.replicas();
        names = new String[n];
        replicas = new CatalogReplica[n];
        down = new boolean[n];
        downUntil = new int[n];
        skewMillis = new long[n];
        group = new int[n];
        sessions = new AntiEntropy.Session[n];
        sessionIds = new long[n];
        sessionStarted = new int[n];
        for (int i = 0; i < n; i++) {
            names[i] = "cell-" + i;
            skewMillis[i] = rnd.nextInt(50);
            seenDeleted.add(new HashSet<>());
        }
        for (int i = 0; i < n; i++) {
            replicas[i] = fresh(i);
        }
    }

    private CatalogReplica fresh(int i) {
        CatalogReplica r = new CatalogReplica(names[i], 60_000, 200);
        r.setMembers(List.of(names));
        return r;
    }

    private long now(int i) {
        return 1_000_000L + tick * 10L + skewMillis[i];
    }

    Outcome run() {
        for (tick = 0; tick < config.faultTicks(); tick++) {
            faults();
            step(true);
        }
        // faults stop: everyone up, one group, no loss
        for (int i = 0; i < replicas.length; i++) {
            if (down[i]) {
                restart(i);
            }
            group[i] = 0;
        }
        int healStart = tick;
        for (; tick < config.faultTicks() + config.healTicks(); tick++) {
            step(false);
            if (converged()) {
                return new Outcome(seed, tick - healStart, created.size(), deleted.size(), collected, messages);
            }
        }
        throw new AssertionError(fail("no convergence " + config.healTicks() + " ticks after the faults stopped: "
                + describe()));
    }

    private void faults() {
        if (rnd.nextDouble() < config.partitionRate()) {
            for (int i = 0; i < group.length; i++) {
                group[i] = rnd.nextInt(3) == 0 ? 1 : 0;
            }
        }
        if (rnd.nextDouble() < config.partitionRate()) {
            java.util.Arrays.fill(group, 0);
        }
        for (int i = 0; i < replicas.length; i++) {
            if (!down[i] && rnd.nextDouble() < config.crashRate()) {
                down[i] = true;
                downUntil[i] = tick + 20 + rnd.nextInt(150);
                sessions[i] = null;
            } else if (down[i] && tick >= downUntil[i]) {
                restart(i);
            }
        }
    }

    /** A crashed replica comes back from what it persisted: its states, change counter, knowledge, log, peers. */
    private void restart(int i) {
        CatalogReplica old = replicas[i];
        List<EntryState> states = new ArrayList<>();
        old.entries().values().forEach(s -> states.add(EntryCodec.decode(EntryCodec.encode(s))));
        TreeMap<Long, EntryState> log = new TreeMap<>();
        old.log().forEach((n, d) -> log.put(n, EntryCodec.decode(EntryCodec.encode(d))));
        Map<String, Map<String, Long>> reports = new HashMap<>(old.reports());
        CatalogReplica r = fresh(i);
        r.restore(states, old.seq(), old.knowledge(), log, old.acked(), reports, now(i));
        replicas[i] = r;
        down[i] = false;
        sessions[i] = null;
    }

    private void step(boolean faulty) {
        // deliver what is due
        while (!network.isEmpty() && network.peek().at <= tick) {
            InFlight f = network.poll();
            if (down[f.to] || down[f.from]) {
                continue;
            }
            deliver(f);
        }
        for (int i = 0; i < replicas.length; i++) {
            if (down[i]) {
                continue;
            }
            if (faulty && rnd.nextDouble() < config.changeRate()) {
                change(i);
            }
            if (tick % 3 == i % 3) {
                for (int j = 0; j < replicas.length; j++) {
                    if (j != i) {
                        send(i, j, new Gossip(replicas[i].gossipTo(names[j], 64, 4_000)), faulty);
                    }
                }
            }
            if (sessions[i] != null && tick - sessionStarted[i] > 40) {
                sessions[i] = null; // a lost message: the round is given up
            }
            if (sessions[i] == null && tick % 25 == (i * 5) % 25) {
                int j = (i + 1 + rnd.nextInt(replicas.length - 1)) % replicas.length;
                sessions[i] = new AntiEntropy.Session(replicas[i], names[j],
                        new AntiEntropy.Limits(8, 16, 16, 32, 32, 2_000));
                sessionIds[i] = nextSession++;
                sessionStarted[i] = tick;
                send(i, j, new AeAsk(sessionIds[i], sessions[i].next()), faulty);
            }
            observe(i, replicas[i].collectGarbage());
            checkNothingDeletedIsShown(i);
        }
    }

    private void deliver(InFlight f) {
        CatalogReplica to = replicas[f.to];
        long now = now(f.to);
        switch (f.msg) {
            case Gossip g -> {
                observe(f.to, to.onDeltas(g.batch(), now));
                send(f.to, f.from, new Ack(to.knowledgeVector()), true);
            }
            case Ack a -> to.onAck(names[f.from], a.knowledge());
            case AeAsk q -> {
                AntiEntropy.Answer answer = AntiEntropy.answer(to, names[f.from], q.request(), now, 2_000);
                observe(f.to, answer.changes());
                send(f.to, f.from, new AeAnswer(q.session(), answer.response()), true);
            }
            case AeAnswer a -> {
                AntiEntropy.Session s = sessions[f.to];
                if (s == null || sessionIds[f.to] != a.session()) {
                    return; // an answer to a round given up
                }
                int before = s.changes().size();
                if (!s.onResponse(a.response(), now)) {
                    return; // a duplicate
                }
                observe(f.to, s.changes().subList(before, s.changes().size()));
                AntiEntropy.Request next = s.next();
                if (next == null) {
                    sessions[f.to] = null;
                } else {
                    send(f.to, f.from, new AeAsk(a.session(), next), true);
                }
            }
        }
    }

    private void send(int from, int to, Msg msg, boolean faulty) {
        messages++;
        if (group[from] != group[to]) {
            return;
        }
        boolean lossy = faulty && tick < config.faultTicks();
        if (lossy && rnd.nextDouble() < config.loss()) {
            return;
        }
        int copies = lossy && rnd.nextDouble() < config.duplication() ? 2 : 1;
        for (int c = 0; c < copies; c++) {
            long delay = 1 + rnd.nextInt(lossy ? config.maxDelayTicks() : 2);
            network.add(new InFlight(tick + delay, order++, from, to, msg));
        }
    }

    private static final String[] KEYS = {"env", "tier", "team", "zone"};

    private void change(int i) {
        CatalogReplica r = replicas[i];
        long now = now(i);
        List<String> visible = new ArrayList<>();
        for (EntryState e : r.entries().values()) {
            if (e.isComplete()) {
                visible.add(e.id());
            }
        }
        int what = visible.isEmpty() ? 0 : rnd.nextInt(10);
        if (what == 0) {
            byte[] b = new byte[16];
            rnd.nextBytes(b);
            String id = HexFormat.of().formatHex(b);
            created.add(id);
            observe(i, List.of(r.create(id, 1 + rnd.nextInt(3), "n" + rnd.nextInt(100), "", "ab", rnd.nextInt(1000),
                    ByteString.EMPTY, Map.of(KEYS[rnd.nextInt(4)], "v" + rnd.nextInt(3)), ByteString.EMPTY, now)));
            return;
        }
        String id = visible.get(rnd.nextInt(visible.size()));
        Change c = switch (what) {
            case 1, 2 -> r.updateLabels(id, Map.of(KEYS[rnd.nextInt(4)], "v" + rnd.nextInt(3)), Set.of(), now);
            case 3 -> r.updateLabels(id, Map.of(), Set.of(KEYS[rnd.nextInt(4)]), now);
            case 4 -> r.updateFields(id, "n" + rnd.nextInt(100), null, null, (long) rnd.nextInt(1000), null, now);
            case 5 -> r.updateMetadata(id, ByteString.copyFromUtf8("m" + rnd.nextInt(5)), now);
            case 6 -> r.addToCounter(id, "pulls", rnd.nextInt(5) - 2, now);
            case 7 -> r.setLocation(id, 1, rnd.nextBoolean(), now);
            case 8 -> r.updateStatus(id, 1 + rnd.nextInt(3), "", ByteString.EMPTY, now);
            default -> {
                deleted.add(id);
                yield r.delete(id, now);
            }
        };
        observe(i, List.of(c));
    }

    private void observe(int i, List<Change> changes) {
        for (Change c : changes) {
            if (c.kind() == ChangeKind.COLLECTED) {
                collected++;
                seenDeleted.get(i).add(c.entryId());
            } else if (c.entry() != null && c.entry().isDeleted()) {
                seenDeleted.get(i).add(c.entryId());
            }
        }
    }

    private void checkNothingDeletedIsShown(int i) {
        for (String id : seenDeleted.get(i)) {
            EntryState e = replicas[i].entries().get(id);
            if (e != null && !e.isDeleted()) {
                throw new AssertionError(fail(names[i] + " shows " + id + " again after it saw it deleted"));
            }
        }
    }

    private boolean converged() {
        CatalogReplica first = replicas[0];
        for (CatalogReplica r : replicas) {
            if (r.tombstoneCount() > 0 || !r.digest("").sameAs(first.digest(""))) {
                return false;
            }
        }
        Set<String> expected = new TreeSet<>(created);
        expected.removeAll(deleted);
        for (CatalogReplica r : replicas) {
            Set<String> shown = new TreeSet<>();
            r.entries().values().forEach(e -> {
                if (e.isComplete()) {
                    shown.add(e.id());
                }
            });
            if (!shown.equals(expected)) {
                throw new AssertionError(fail(r.self() + " converged on " + shown.size() + " entries, expected "
                        + expected.size() + "; missing " + diff(expected, shown) + ", extra " + diff(shown, expected)));
            }
        }
        return true;
    }

    private static Set<String> diff(Set<String> a, Set<String> b) {
        Set<String> d = new TreeSet<>(a);
        d.removeAll(b);
        return d;
    }

    private String describe() {
        StringBuilder sb = new StringBuilder();
        for (CatalogReplica r : replicas) {
            sb.append("\n  ").append(r.self()).append(": ").append(r.entries().size()).append(" states, ")
                    .append(r.tombstoneCount()).append(" tombstones, log ").append(r.logSize()).append(", knows ")
                    .append(r.knowledgeVector()).append(", stable ").append(r.stableVector());
        }
        return sb.toString();
    }

    private String fail(String what) {
        return "seed " + seed + " (replay: -Dsim.seed=" + seed + "), tick " + tick + ": " + what;
    }
}
