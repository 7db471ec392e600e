package io.celluler.network.engine.membership;

/**
 * SWIM + Lifeguard parameters, in ticks (the driver decides what a tick is; the service uses 10 ms). Defaults
 * follow memberlist's LAN profile: probe every second with a 500 ms timeout, 3 indirect probers, gossip every
 * 200 ms to 3 members, suspicion of 4·log10(N) probe intervals at least and 6 times that at most, push/pull
 * every 30 s. One difference: up to 64 updates ride on a message, not memberlist's ~16 (what fits a UDP
 * packet): our messages travel on TCP streams, and in the simulator 64 joins 1,000 members in ~12–14 s
 * instead of ~44 s, with a quarter of the messages.
 *
 * @param probeIntervalTicks      one probe round (scaled by the local health multiplier, Lifeguard §4.3)
 * @param probeTimeoutTicks       wait for a direct ack before asking indirect probers (scaled likewise)
 * @param indirectChecks          members asked to probe a target that did not answer directly
 * @param gossipIntervalTicks     how often updates are pushed to {@code gossipNodes} random members
 * @param gossipNodes             fan-out of a gossip round
 * @param retransmitMult          each update is sent retransmitMult·⌈log10(N+1)⌉ times
 * @param suspicionMult           minimum suspicion = suspicionMult·log10(max(N,10))·probeInterval
 * @param suspicionMaxMult        maximum suspicion = suspicionMaxMult·minimum (Lifeguard §4.2: shrinks with
 *                                independent confirmations)
 * @param pushPullIntervalTicks   full state exchange with a random member
 * @param reconnectIntervalTicks  full state exchange with a random dead member (heals partitions)
 * @param maxLocalHealth          the local health multiplier's ceiling (Lifeguard §4.3)
 * @param maxPiggyback            updates carried by one message at most
 */
public record MembershipConfig(int probeIntervalTicks, int probeTimeoutTicks, int indirectChecks,
        int gossipIntervalTicks, int gossipNodes, int retransmitMult, int suspicionMult, int suspicionMaxMult,
        int pushPullIntervalTicks, int reconnectIntervalTicks, int maxLocalHealth, int maxPiggyback) {

    public MembershipConfig {
        if (probeIntervalTicks < 2 || probeTimeoutTicks < 1 || probeTimeoutTicks >= probeIntervalTicks
                || indirectChecks < 0 || gossipIntervalTicks < 1 || gossipNodes < 1 || retransmitMult < 1
                || suspicionMult < 1 || suspicionMaxMult < 1 || pushPullIntervalTicks < 1
                || reconnectIntervalTicks < 1 || maxLocalHealth < 0 || maxPiggyback < 1) {
            throw new IllegalArgumentException("invalid membership configuration: " + this);
        }
    }

    /** memberlist's LAN defaults with 10 ms ticks. */
    public static MembershipConfig lan() {
        return new MembershipConfig(100, 50, 3, 20, 3, 4, 4, 6, 3000, 3000, 8, 64);
    }

    public MembershipConfig withGossipIntervalTicks(int ticks) {
        return new MembershipConfig(probeIntervalTicks, probeTimeoutTicks, indirectChecks, ticks, gossipNodes,
                retransmitMult, suspicionMult, suspicionMaxMult, pushPullIntervalTicks, reconnectIntervalTicks,
                maxLocalHealth, maxPiggyback);
    }

    /** 0 turns Lifeguard's local health awareness off (plain SWIM), for comparison. */
    public MembershipConfig withMaxLocalHealth(int max) {
        return new MembershipConfig(probeIntervalTicks, probeTimeoutTicks, indirectChecks, gossipIntervalTicks,
                gossipNodes, retransmitMult, suspicionMult, suspicionMaxMult, pushPullIntervalTicks,
                reconnectIntervalTicks, max, maxPiggyback);
    }

    public MembershipConfig withPushPullIntervalTicks(int ticks) {
        return new MembershipConfig(probeIntervalTicks, probeTimeoutTicks, indirectChecks, gossipIntervalTicks,
                gossipNodes, retransmitMult, suspicionMult, suspicionMaxMult, ticks, reconnectIntervalTicks,
                maxLocalHealth, maxPiggyback);
    }
}
