package io.celluler.network.engine;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Peers that keep sending bad messages are shut out for a while (issue 3 §3): a peer with {@code threshold}
 * rejected envelopes within {@code windowMillis} is blacklisted for {@code banMillis}. Bounded: at most
 * {@code maxTrackedPeers} peers are tracked; the least recently offending ones are forgotten first.
 *
 * <p>Pure and single-threaded (DESIGN §6): the caller passes the time.
 */
public final class Blacklist {

    public record Policy(int threshold, long windowMillis, long banMillis, int maxTrackedPeers) {

        public Policy {
            if (threshold < 1 || windowMillis <= 0 || banMillis <= 0 || maxTrackedPeers < 1) {
                throw new IllegalArgumentException("blacklist policy values must be positive");
            }
        }
    }

    private final Policy policy;
    /** Recent reject times per peer, in access order (least recently offending first). */
    private final Map<String, Deque<Long>> offences = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private final Map<String, Long> bannedUntil = new HashMap<>();

    public Blacklist(Policy policy) {
        this.policy = policy;
    }

    /** Records a rejected envelope from {@code peer}; true when this makes the peer blacklisted. */
    public boolean recordReject(String peer, long nowMillis) {
        if (isBlacklisted(peer, nowMillis)) {
            return false;
        }
        Deque<Long> times = offences.computeIfAbsent(peer, p -> new ArrayDeque<>());
        times.addLast(nowMillis);
        while (!times.isEmpty() && times.peekFirst() <= nowMillis - policy.windowMillis()) {
            times.pollFirst();
        }
        if (offences.size() > policy.maxTrackedPeers()) {
            Iterator<String> leastRecent = offences.keySet().iterator();
            leastRecent.next();
            leastRecent.remove();
        }
        if (times.size() >= policy.threshold()) {
            offences.remove(peer);
            ban(peer, nowMillis, nowMillis + policy.banMillis());
            return true;
        }
        return false;
    }

    /** Blacklists a peer until the given time (an operator's decision, or the policy's). */
    public void ban(String peer, long nowMillis, long untilMillis) {
        bannedUntil.merge(peer, untilMillis, Math::max);
        if (bannedUntil.size() > policy.maxTrackedPeers()) {
            bannedUntil.values().removeIf(until -> until <= nowMillis);
        }
        while (bannedUntil.size() > policy.maxTrackedPeers()) {
            // still too many: the ban that would end first goes first
            String soonest = java.util.Collections.min(bannedUntil.entrySet(), Map.Entry.comparingByValue()).getKey();
            bannedUntil.remove(soonest);
        }
    }

    public void unban(String peer) {
        bannedUntil.remove(peer);
        offences.remove(peer);
    }

    public boolean isBlacklisted(String peer, long nowMillis) {
        Long until = bannedUntil.get(peer);
        if (until == null) {
            return false;
        }
        if (until <= nowMillis) {
            bannedUntil.remove(peer);
            return false;
        }
        return true;
    }

    /** Peers blacklisted at {@code nowMillis}, with the time each ban ends. */
    public Map<String, Long> banned(long nowMillis) {
        bannedUntil.values().removeIf(until -> until <= nowMillis);
        return Map.copyOf(bannedUntil);
    }
}
