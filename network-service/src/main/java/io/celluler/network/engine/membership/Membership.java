package io.celluler.network.engine.membership;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * SWIM gossip membership with the Lifeguard extensions, as a pure state machine (DESIGN §6).
 *
 * <p>The driver calls {@link #tick()} at a fixed rate, {@link #receive} for every message, and after each call
 * sends what {@link #drainOutbox()} returns and reports what {@link #drainChanges()} returns. No clock, no
 * threads, no I/O; randomness is the generator it is given. Papers: Das et al., "SWIM: Scalable Weakly-consistent
 * Infection-style Process Group Membership Protocol" (2002); Dadgar et al., "Lifeguard: Local Health Awareness
 * for More Accurate Failure Detection" (2018).
 *
 * <ul>
 *   <li>Failure detection (SWIM §4): each probe round pings the next member of a shuffled round-robin order
 *       (every member is probed within a bounded number of rounds, SWIM §4.3); no ack within the timeout →
 *       {@code indirectChecks} members probe it on our behalf; no ack by the end of the round → suspect.</li>
 *   <li>Suspicion (SWIM §4.2) with refutation: a member that hears itself suspected or declared dead raises its
 *       incarnation and gossips that it is alive. A suspect not refuted in time is declared dead. The timeout
 *       starts long and shrinks with each independent confirmation (Lifeguard §4.2).</li>
 *   <li>Local health (Lifeguard §4.3): missed acks and refutations raise a multiplier (at most
 *       {@code maxLocalHealth}) that stretches this member's probe interval and timeout, so a slow or overloaded
 *       member stops accusing healthy ones; successful probes lower it. Indirect probers that answer with a
 *       Nack show the network is fine, and then the missed ack is not held against us.</li>
 *   <li>Dissemination (SWIM §4.4): updates are piggy-backed on every message and pushed to a few random
 *       members each gossip interval, each retransmitted ~retransmitMult·log10(N) times.</li>
 *   <li>Anti-entropy: full state push/pull with a random member periodically and on join (peer exchange: one
 *       seed is enough), and with a random dead member (so that both sides of a healed partition meet).</li>
 * </ul>
 */
public final class Membership {

    private static final class Node {
        final String id;
        String address;
        String meta;
        long incarnation;
        MemberState state;
        long stateChangeTick;
        Suspicion suspicion;

        Node(Update u, long now) {
            this.id = u.id();
            this.address = u.address();
            this.meta = u.meta();
            this.incarnation = u.incarnation();
            this.state = u.state();
            this.stateChangeTick = now;
        }

        Update toUpdate() {
            return new Update(id, address, incarnation, state, meta);
        }
    }

    private static final class Suspicion {
        final long startTick;
        final long minTicks;
        final long maxTicks;
        final int expectedConfirmations;
        final Set<String> confirmations = new HashSet<>();

        Suspicion(long startTick, long minTicks, long maxTicks, int expectedConfirmations) {
            this.startTick = startTick;
            this.minTicks = minTicks;
            this.maxTicks = maxTicks;
            this.expectedConfirmations = expectedConfirmations;
        }

        long timeoutTicks() {
            if (expectedConfirmations < 1) {
                return minTicks;
            }
            double frac = Math.log(confirmations.size() + 1.0) / Math.log(expectedConfirmations + 1.0);
            return Math.max(minTicks, (long) Math.floor(maxTicks - (maxTicks - minTicks) * frac));
        }
    }

    private static final class Probe {
        final String target;
        final long seq;
        final long timeoutTick;
        final long endTick;
        boolean acked;
        boolean indirectSent;
        int expectedNacks;
        int nacks;

        Probe(String target, long seq, long timeoutTick, long endTick) {
            this.target = target;
            this.seq = seq;
            this.timeoutTick = timeoutTick;
            this.endTick = endTick;
        }
    }

    /** A probe this member makes on another's behalf (answer to a PingReq), until its deadline. */
    private record Relay(String requesterAddress, long requesterSeq, String target, long deadlineTick, boolean nackWanted) {
    }

    private final MembershipConfig cfg;
    private final RandomGenerator random;
    private final String selfId;
    private final String selfAddress;
    private String selfMeta;
    private long incarnation;
    private long now;
    private long seq;
    private boolean left;

    private final Map<String, Node> nodes = new LinkedHashMap<>();
    /** How many known members are in each state (kept as states change, so views are O(1)). */
    private final int[] stateCounts = new int[MemberState.values().length];
    /** Other members that are alive or suspect: candidates for gossip and indirect probes. */
    private final List<String> reachable = new ArrayList<>();
    private final List<String> probeOrder = new ArrayList<>();
    /** Members under suspicion now (their timers run on each tick). */
    private final Set<String> suspects = new java.util.LinkedHashSet<>();
    private int probeIndex;
    private final BroadcastQueue broadcasts = new BroadcastQueue();
    private final Map<Long, Relay> relays = new LinkedHashMap<>();
    private final List<Outbound> outbox = new ArrayList<>();
    private final List<Update> changes = new ArrayList<>();

    private Probe probe;
    private long nextProbeTick;
    private long nextGossipTick;
    private long nextPushPullTick;
    private long nextReconnectTick;
    private int localHealth;
    private List<String> seeds = List.of();
    private long nextJoinAttemptTick = Long.MAX_VALUE;

    public Membership(MembershipConfig cfg, String selfId, String selfAddress, String selfMeta, long incarnation,
            RandomGenerator random) {
        this.cfg = cfg;
        this.random = random;
        this.selfId = selfId;
        this.selfAddress = selfAddress;
        this.selfMeta = selfMeta;
        this.incarnation = incarnation;
        nodes.put(selfId, new Node(new Update(selfId, selfAddress, incarnation, MemberState.ALIVE, selfMeta), 0));
        stateCounts[MemberState.ALIVE.ordinal()]++;
        // spread the periodic work of many members over time
        nextGossipTick = random.nextInt(cfg.gossipIntervalTicks());
        nextProbeTick = random.nextInt(cfg.probeIntervalTicks());
        nextPushPullTick = cfg.pushPullIntervalTicks() + random.nextInt(cfg.pushPullIntervalTicks());
        nextReconnectTick = cfg.reconnectIntervalTicks() + random.nextInt(cfg.reconnectIntervalTicks());
    }

    // ---- inputs ---------------------------------------------------------------------------------------

    /** Joins through seeds (addresses): a full state exchange with each; retried until someone answers. */
    public void join(List<String> seedAddresses) {
        this.seeds = List.copyOf(seedAddresses);
        sendJoin();
    }

    /** Leaves gracefully: tells the others this member LEFT (it is then not suspected, and not probed). */
    public void leave() {
        incarnation++;
        Node self = nodes.get(selfId);
        self.incarnation = incarnation;
        setState(self, MemberState.LEFT);
        broadcasts.add(self.toUpdate());
        left = true;
        gossip();
    }

    /** Changes this member's metadata (e.g. capabilities) and gossips it, at a new incarnation. */
    public void updateMeta(String meta) {
        selfMeta = meta;
        incarnation++;
        Node self = nodes.get(selfId);
        self.meta = meta;
        self.incarnation = incarnation;
        broadcasts.add(self.toUpdate());
    }

    /** Advances time by one tick. */
    public void tick() {
        now++;
        if (left) {
            return;
        }
        if (now >= nextJoinAttemptTick && reachable.isEmpty()) {
            sendJoin();
        }
        if (probe != null) {
            if (!probe.acked && !probe.indirectSent && now >= probe.timeoutTick) {
                probeIndirectly();
            }
            if (now >= probe.endTick) {
                finishProbe();
            }
        }
        if (probe == null && now >= nextProbeTick) {
            startProbe();
        }
        expireRelays();
        expireSuspicions();
        if (now >= nextGossipTick) {
            nextGossipTick = now + cfg.gossipIntervalTicks();
            gossip();
        }
        if (now >= nextPushPullTick) {
            nextPushPullTick = now + cfg.pushPullIntervalTicks();
            String peer = randomReachable(null);
            if (peer != null) {
                pushPull(nodes.get(peer).address, false);
            }
        }
        if (now >= nextReconnectTick) {
            nextReconnectTick = now + cfg.reconnectIntervalTicks();
            reconnect();
        }
    }

    /** Handles a message from {@code fromAddress}. */
    public void receive(String fromAddress, Message m) {
        if (left) {
            return;
        }
        for (Update u : m.updates()) {
            apply(u, m.from(), m instanceof Message.PushPull);
        }
        switch (m) {
            case Message.Ping p -> {
                if (p.target().equals(selfId)) {
                    send(fromAddress, new Message.Ack(selfId, p.seq(), selfId, piggyback()));
                }
            }
            case Message.PingReq r -> {
                long relaySeq = ++seq;
                // answer with a Nack in time for it to reach the requester before its probe round ends: it sent
                // the PingReq after its probe timeout, and the round ends one probe interval after the start
                long nackAfter = Math.max(1, (cfg.probeIntervalTicks() - cfg.probeTimeoutTicks()) * 4L / 5);
                relays.put(relaySeq, new Relay(fromAddress, r.seq(), r.target(), now + nackAfter, r.nackWanted()));
                send(r.targetAddress(), new Message.Ping(selfId, relaySeq, r.target(), piggyback()));
            }
            case Message.Ack a -> {
                if (probe != null && a.seq() == probe.seq) {
                    probe.acked = true;
                } else {
                    Relay relay = relays.remove(a.seq());
                    if (relay != null) {
                        send(relay.requesterAddress(), new Message.Ack(selfId, relay.requesterSeq(), relay.target(), piggyback()));
                    }
                }
            }
            case Message.Nack n -> {
                if (probe != null && n.seq() == probe.seq) {
                    probe.nacks++;
                }
            }
            case Message.PushPull pp -> {
                if (pp.replyWanted()) {
                    send(fromAddress, new Message.PushPull(selfId, false, false, fullState()));
                }
            }
            case Message.Gossip g -> {
                // the updates were all it carried
            }
        }
    }

    // ---- outputs --------------------------------------------------------------------------------------

    public List<Outbound> drainOutbox() {
        List<Outbound> out = new ArrayList<>(outbox);
        outbox.clear();
        return out;
    }

    /** State changes this member observed since the last call (joins, suspicions, deaths, refutations). */
    public List<Update> drainChanges() {
        List<Update> out = new ArrayList<>(changes);
        changes.clear();
        return out;
    }

    // ---- views ----------------------------------------------------------------------------------------

    public String selfId() {
        return selfId;
    }

    public long incarnation() {
        return incarnation;
    }

    public long nowTicks() {
        return now;
    }

    public int localHealth() {
        return localHealth;
    }

    /** The state of {@code id} as this member sees it, or null when it does not know it. */
    public MemberState stateOf(String id) {
        Node n = nodes.get(id);
        return n == null ? null : n.state;
    }

    /** Every member this one knows (itself included). */
    public List<Update> members() {
        List<Update> out = new ArrayList<>(nodes.size());
        nodes.values().forEach(n -> out.add(n.toUpdate()));
        return out;
    }

    /** How many members (itself included) this member sees in {@code state}. */
    public int count(MemberState state) {
        return stateCounts[state.ordinal()];
    }

    // ---- failure detection ----------------------------------------------------------------------------

    private long scaled(int ticks) {
        return (long) ticks * (localHealth + 1);
    }

    private void startProbe() {
        String target = nextProbeTarget();
        nextProbeTick = now + scaled(cfg.probeIntervalTicks());
        if (target == null) {
            return;
        }
        long s = ++seq;
        probe = new Probe(target, s, now + scaled(cfg.probeTimeoutTicks()), now + scaled(cfg.probeIntervalTicks()));
        send(nodes.get(target).address, new Message.Ping(selfId, s, target, piggyback()));
    }

    private String nextProbeTarget() {
        for (int attempts = 0; attempts <= probeOrder.size(); attempts++) {
            if (probeIndex >= probeOrder.size()) {
                // a new round: every member once, in a fresh random order (SWIM §4.3)
                probeOrder.clear();
                probeOrder.addAll(reachable);
                shuffle(probeOrder);
                probeIndex = 0;
                if (probeOrder.isEmpty()) {
                    return null;
                }
            }
            String candidate = probeOrder.get(probeIndex++);
            Node n = nodes.get(candidate);
            if (n != null && (n.state == MemberState.ALIVE || n.state == MemberState.SUSPECT)) {
                return candidate;
            }
        }
        return null;
    }

    private void probeIndirectly() {
        probe.indirectSent = true;
        Node target = nodes.get(probe.target);
        for (String helper : randomReachable(cfg.indirectChecks(), probe.target)) {
            send(nodes.get(helper).address,
                    new Message.PingReq(selfId, probe.seq, probe.target, target.address, true, piggyback()));
            probe.expectedNacks++;
        }
    }

    private void finishProbe() {
        Probe p = probe;
        probe = null;
        if (p.acked) {
            localHealth = Math.max(0, localHealth - 1);
            return;
        }
        // Lifeguard §4.3: nacks from the helpers show our network works; without them, the fault may be ours
        int delta = p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1;
        localHealth = Math.min(cfg.maxLocalHealth(), localHealth + delta);
        Node target = nodes.get(p.target);
        if (target != null && target.state == MemberState.ALIVE) {
            apply(new Update(target.id, target.address, target.incarnation, MemberState.SUSPECT, target.meta), selfId, false);
        }
    }

    private void expireRelays() {
        Iterator<Map.Entry<Long, Relay>> it = relays.entrySet().iterator();
        while (it.hasNext()) {
            Relay r = it.next().getValue();
            if (now >= r.deadlineTick()) {
                it.remove();
                if (r.nackWanted()) {
                    send(r.requesterAddress(), new Message.Nack(selfId, r.requesterSeq(), r.target(), piggyback()));
                }
            }
        }
    }

    private void expireSuspicions() {
        if (suspects.isEmpty()) {
            return;
        }
        List<Node> expired = null;
        for (String id : suspects) {
            Node n = nodes.get(id);
            if (now - n.suspicion.startTick >= n.suspicion.timeoutTicks()) {
                if (expired == null) {
                    expired = new ArrayList<>();
                }
                expired.add(n);
            }
        }
        if (expired != null) {
            for (Node n : expired) {
                apply(new Update(n.id, n.address, n.incarnation, MemberState.DEAD, n.meta), selfId, false);
            }
        }
    }

    // ---- the update rules -----------------------------------------------------------------------------

    /**
     * Applies a claimed state. {@code fromPushPull}: in a full state exchange a DEAD claim counts only as a
     * suspicion (memberlist's rule), so one stale view cannot kill a member that is in fact alive.
     */
    private void apply(Update u, String from, boolean fromPushPull) {
        MemberState claimed = u.state();
        if (fromPushPull && claimed == MemberState.DEAD) {
            claimed = MemberState.SUSPECT;
        }
        if (u.id().equals(selfId)) {
            if (!left && claimed != MemberState.ALIVE && u.incarnation() >= incarnation) {
                refute(u.incarnation());
            }
            return;
        }
        Node n = nodes.get(u.id());
        switch (claimed) {
            case ALIVE -> {
                if (n == null) {
                    n = new Node(u, now);
                    nodes.put(u.id(), n);
                    stateCounts[MemberState.ALIVE.ordinal()]++;
                    becameReachable(n);
                    announce(n);
                } else if (u.incarnation() > n.incarnation) {
                    boolean wasReachable = isReachable(n.state);
                    n.incarnation = u.incarnation();
                    n.address = u.address();
                    n.meta = u.meta();
                    n.suspicion = null;
                    if (n.state != MemberState.ALIVE) {
                        setState(n, MemberState.ALIVE);
                    }
                    if (!wasReachable) {
                        becameReachable(n);
                    }
                    announce(n);
                }
            }
            case SUSPECT -> {
                if (n == null || u.incarnation() < n.incarnation) {
                    return;
                }
                if (n.state == MemberState.SUSPECT) {
                    // Lifeguard §4.2: an independent confirmation shortens the suspicion
                    if (n.suspicion != null && !from.equals(selfId) && n.suspicion.confirmations.add(from)) {
                        broadcasts.add(new Update(n.id, n.address, n.incarnation, MemberState.SUSPECT, n.meta));
                    }
                    return;
                }
                if (n.state != MemberState.ALIVE) {
                    return;
                }
                n.incarnation = u.incarnation();
                setState(n, MemberState.SUSPECT);
                n.suspicion = newSuspicion();
                if (!from.equals(selfId)) {
                    n.suspicion.confirmations.add(from);
                }
                announce(n);
            }
            case DEAD, LEFT -> {
                if (n == null || u.incarnation() < n.incarnation
                        || n.state == MemberState.DEAD || n.state == MemberState.LEFT) {
                    return;
                }
                n.incarnation = u.incarnation();
                setState(n, claimed);
                n.suspicion = null;
                reachable.remove(n.id);
                announce(n);
            }
        }
    }

    private void setState(Node n, MemberState state) {
        stateCounts[n.state.ordinal()]--;
        stateCounts[state.ordinal()]++;
        if (state == MemberState.SUSPECT) {
            suspects.add(n.id);
        } else {
            suspects.remove(n.id);
        }
        n.state = state;
        n.stateChangeTick = now;
    }

    private Suspicion newSuspicion() {
        int n = Math.max(1, reachable.size() + 1);
        long min = (long) (cfg.suspicionMult() * Math.max(1.0, Math.log10(n)) * cfg.probeIntervalTicks());
        long max = cfg.suspicionMaxMult() * min;
        int expected = Math.max(0, Math.min(cfg.suspicionMult() - 2, n - 2));
        return new Suspicion(now, min, max, expected);
    }

    private void refute(long heardIncarnation) {
        incarnation = Math.max(incarnation, heardIncarnation) + 1;
        Node self = nodes.get(selfId);
        self.incarnation = incarnation;
        broadcasts.add(self.toUpdate());
        // being suspected may mean we are the slow one (Lifeguard §4.3)
        localHealth = Math.min(cfg.maxLocalHealth(), localHealth + 1);
        changes.add(self.toUpdate());
    }

    private void announce(Node n) {
        Update u = n.toUpdate();
        broadcasts.add(u);
        changes.add(u);
    }

    private static boolean isReachable(MemberState s) {
        return s == MemberState.ALIVE || s == MemberState.SUSPECT;
    }

    private void becameReachable(Node n) {
        reachable.add(n.id);
        // probe it in this round too, at a random place (memberlist inserts new members randomly)
        probeOrder.add(probeIndex + random.nextInt(probeOrder.size() - probeIndex + 1), n.id);
        nextJoinAttemptTick = Long.MAX_VALUE;
    }

    // ---- dissemination and anti-entropy --------------------------------------------------------------

    private int retransmitLimit() {
        return cfg.retransmitMult() * (int) Math.ceil(Math.log10(nodes.size() + 1.0));
    }

    private List<Update> piggyback() {
        return broadcasts.take(cfg.maxPiggyback(), retransmitLimit());
    }

    private void gossip() {
        if (broadcasts.size() == 0) {
            return;
        }
        for (String peer : randomReachable(cfg.gossipNodes(), null)) {
            List<Update> updates = piggyback();
            if (updates.isEmpty()) {
                return;
            }
            send(nodes.get(peer).address, new Message.Gossip(selfId, updates));
        }
    }

    private List<Update> fullState() {
        return members();
    }

    private void pushPull(String address, boolean join) {
        send(address, new Message.PushPull(selfId, join, true, fullState()));
    }

    private void sendJoin() {
        for (String seed : seeds) {
            if (!seed.equals(selfAddress)) {
                pushPull(seed, true);
            }
        }
        nextJoinAttemptTick = seeds.isEmpty() ? Long.MAX_VALUE : now + cfg.probeIntervalTicks();
    }

    private void reconnect() {
        List<Node> dead = new ArrayList<>();
        for (Node n : nodes.values()) {
            if (n.state == MemberState.DEAD) {
                dead.add(n);
            }
        }
        if (!dead.isEmpty()) {
            pushPull(dead.get(random.nextInt(dead.size())).address, false);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private void send(String address, Message m) {
        outbox.add(new Outbound(address, m));
    }

    private String randomReachable(String except) {
        List<String> one = randomReachable(1, except);
        return one.isEmpty() ? null : one.get(0);
    }

    /** Up to {@code k} distinct random reachable members other than {@code except}. */
    private List<String> randomReachable(int k, String except) {
        int available = reachable.size() - (except != null && reachable.contains(except) ? 1 : 0);
        int want = Math.min(k, available);
        List<String> picked = new ArrayList<>(want);
        if (want <= 0) {
            return picked;
        }
        if (want * 3 >= reachable.size()) {
            List<String> all = new ArrayList<>(reachable);
            all.remove(except);
            shuffle(all);
            return all.subList(0, want);
        }
        while (picked.size() < want) {
            String c = reachable.get(random.nextInt(reachable.size()));
            if (!c.equals(except) && !picked.contains(c)) {
                picked.add(c);
            }
        }
        return picked;
    }

    private void shuffle(List<String> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            String t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
