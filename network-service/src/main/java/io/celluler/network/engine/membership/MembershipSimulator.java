package io.celluler.network.engine.membership;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * A deterministic simulation of many {@link Membership} engines on a simulated network (DESIGN §6): message
 * latency with jitter, random loss, partitions, crashed members (nothing in or out), and slow members (every
 * message to or from them takes {@code slowFactor} times longer). One seed fixes everything: the network's
 * randomness and each member's generator derive from it, so a run replays exactly.
 *
 * <p>Member ids are their addresses. Time is ticks; the configurations used here take a tick as 10 ms.
 */
public final class MembershipSimulator {

    private record Delivery(long dueTick, long order, String to, String from, Message message) {
    }

    private final MembershipConfig config;
    private final long seed;
    private final SplittableRandom network;
    private final Map<String, Membership> members = new LinkedHashMap<>();
    private final Set<String> crashed = new HashSet<>();
    private final Map<String, Integer> slowFactor = new HashMap<>();
    private final Map<String, Integer> side = new HashMap<>();
    private final PriorityQueue<Delivery> inFlight = new PriorityQueue<>((a, b) -> a.dueTick != b.dueTick
            ? Long.compare(a.dueTick, b.dueTick) : Long.compare(a.order, b.order));
    private double lossRate;
    private int baseLatencyTicks = 1;
    private int jitterTicks = 2;
    private long now;
    private long order;
    private long sent;
    private long dropped;
    private int generation;
    private java.util.function.BiConsumer<String, Update> onChange = (observer, change) -> { };

    public MembershipSimulator(MembershipConfig config, long seed) {
        this.config = config;
        this.seed = seed;
        this.network = new SplittableRandom(seed);
    }

    public long seed() {
        return seed;
    }

    public MembershipSimulator lossRate(double rate) {
        this.lossRate = rate;
        return this;
    }

    public MembershipSimulator latency(int baseTicks, int jitterTicks) {
        this.baseLatencyTicks = baseTicks;
        this.jitterTicks = jitterTicks;
        return this;
    }

    /** Starts a member (a new process: incarnation 0) that joins through {@code seeds}. */
    public Membership start(String id, List<String> seeds) {
        Membership m = new Membership(config, id, id, "", 0, new SplittableRandom(seed * 31 + id.hashCode() * 7L + generation++));
        members.put(id, m);
        crashed.remove(id);
        if (!seeds.isEmpty()) {
            m.join(seeds);
        }
        flush(m);
        return m;
    }

    /** Stops a member abruptly: it neither sends nor receives any more (its engine is dropped). */
    public void crash(String id) {
        crashed.add(id);
    }

    public void slow(String id, int factor) {
        slowFactor.put(id, factor);
    }

    /** Splits the network: a message between members on different sides is lost. */
    public void partition(Predicate<String> sideA) {
        for (String id : members.keySet()) {
            side.put(id, sideA.test(id) ? 0 : 1);
        }
    }

    public void heal() {
        side.clear();
    }

    public Membership member(String id) {
        return members.get(id);
    }

    public List<Membership> running() {
        List<Membership> out = new ArrayList<>();
        members.forEach((id, m) -> {
            if (!crashed.contains(id)) {
                out.add(m);
            }
        });
        return out;
    }

    public long nowTicks() {
        return now;
    }

    public long messagesSent() {
        return sent;
    }

    public long messagesDropped() {
        return dropped;
    }

    /** One tick: deliver what is due, then tick every running member. */
    public void step() {
        now++;
        while (!inFlight.isEmpty() && inFlight.peek().dueTick <= now) {
            Delivery d = inFlight.poll();
            Membership to = members.get(d.to);
            if (to != null && !crashed.contains(d.to)) {
                to.receive(d.from, d.message);
                flush(to);
            }
        }
        for (Map.Entry<String, Membership> e : members.entrySet()) {
            if (!crashed.contains(e.getKey())) {
                e.getValue().tick();
                flush(e.getValue());
            }
        }
    }

    /** Steps until {@code done} holds (checked every {@code checkEveryTicks}) or {@code maxTicks} pass; the tick reached, or -1. */
    public long runUntil(java.util.function.BooleanSupplier done, long maxTicks, int checkEveryTicks) {
        long end = now + maxTicks;
        while (now < end) {
            step();
            if (now % checkEveryTicks == 0 && done.getAsBoolean()) {
                return now;
            }
        }
        return done.getAsBoolean() ? now : -1;
    }

    public void run(long ticks) {
        for (long i = 0; i < ticks; i++) {
            step();
        }
    }

    private void flush(Membership from) {
        String src = from.selfId();
        for (Outbound o : from.drainOutbox()) {
            sent++;
            if (crashed.contains(o.address()) || !members.containsKey(o.address())
                    || (!side.isEmpty() && !side.getOrDefault(src, 0).equals(side.getOrDefault(o.address(), 0)))
                    || network.nextDouble() < lossRate) {
                dropped++;
                continue;
            }
            int latency = baseLatencyTicks + (jitterTicks > 0 ? network.nextInt(jitterTicks + 1) : 0);
            latency *= Math.max(slowFactor.getOrDefault(src, 1), slowFactor.getOrDefault(o.address(), 1));
            inFlight.add(new Delivery(now + latency, order++, o.address(), src, o.message()));
        }
        for (Update change : from.drainChanges()) {
            onChange.accept(src, change);
        }
    }

    /** Called with (observer, change) for every state change any member observes. */
    public MembershipSimulator onChange(java.util.function.BiConsumer<String, Update> listener) {
        this.onChange = listener;
        return this;
    }

    /** True when every running member sees exactly the given members alive (and nothing else alive or suspect). */
    public boolean allSee(Set<String> alive) {
        List<Membership> running = running();
        for (Membership m : running) {
            if (m.count(MemberState.ALIVE) != alive.size() || m.count(MemberState.SUSPECT) != 0) {
                return false;
            }
        }
        for (Membership m : running) {
            for (String id : alive) {
                if (m.stateOf(id) != MemberState.ALIVE) {
                    return false;
                }
            }
        }
        return true;
    }
}
