package io.celluler.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

import io.celluler.network.engine.membership.MembershipConfig;
import io.celluler.network.engine.membership.MembershipSimulator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Membership dissemination time in the deterministic simulator (issue 3): {@code --members} members with
 * {@code --loss} message loss and a {@code --gossip-ms} gossip period converge; then, one after another,
 * {@code --updates} random members change their metadata (a new incarnation), and the simulated time until
 * every member has it is measured. Simulated time (10 ms ticks), so the figure does not depend on this machine;
 * the wall time of the run is printed too.
 */
@Command(name = "membership", mixinStandardHelpOptions = true,
        description = "SWIM dissemination time for N simulated members (ScaleCube publishes 3.6 s for 200).")
public class MembershipBench implements Callable<Integer> {

    @Option(names = "--members", defaultValue = "200")
    int members;

    @Option(names = "--loss", defaultValue = "0.01")
    double loss;

    @Option(names = "--gossip-ms", defaultValue = "300")
    int gossipMs;

    @Option(names = "--updates", defaultValue = "50")
    int updates;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Override
    public Integer call() {
        long wall0 = System.nanoTime();
        MembershipConfig cfg = MembershipConfig.lan().withGossipIntervalTicks(gossipMs / 10);
        MembershipSimulator sim = new MembershipSimulator(cfg, seed).lossRate(loss);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            ids.add("m" + i);
        }
        sim.start(ids.get(0), List.of());
        for (int i = 1; i < members; i++) {
            sim.start(ids.get(i), List.of(ids.get(0)));
            sim.step();
        }
        long converged = sim.runUntil(() -> sim.allSee(new LinkedHashSet<>(ids)), 60_000, 10);
        if (converged < 0) {
            throw new IllegalStateException("did not converge (seed " + seed + ")");
        }
        sim.run(500);
        SplittableRandom pick = new SplittableRandom(seed);
        double[] seconds = new double[updates];
        long sent0 = sim.messagesSent();
        long t0All = sim.nowTicks();
        for (int u = 0; u < updates; u++) {
            String who = ids.get(pick.nextInt(members));
            sim.member(who).updateMeta("capabilities-v" + u);
            long incarnation = sim.member(who).incarnation();
            long start = sim.nowTicks();
            long done = sim.runUntil(() -> sim.running().stream().allMatch(m -> m.members().stream()
                    .anyMatch(x -> x.id().equals(who) && x.incarnation() >= incarnation)), 30_000, 1);
            if (done < 0) {
                throw new IllegalStateException("update " + u + " did not reach everyone (seed " + seed + ")");
            }
            seconds[u] = (done - start) / 100.0;
            sim.run(200);
        }
        double simSeconds = (sim.nowTicks() - t0All) / 100.0;
        double msgsPerMemberPerSecond = (sim.messagesSent() - sent0) / simSeconds / members;
        Arrays.sort(seconds);
        System.out.printf("BENCH membership members=%d loss=%.0f%% gossip=%dms updates=%d seed=%d converge=%.1fs "
                + "dissemination-p50=%.2fs p99=%.2fs max=%.2fs msgs/member/s=%.1f wall=%.1fs%n", members, loss * 100,
                gossipMs, updates, seed, converged / 100.0, seconds[updates / 2],
                seconds[(int) Math.ceil(updates * 0.99) - 1], seconds[updates - 1], msgsPerMemberPerSecond,
                (System.nanoTime() - wall0) / 1e9);
        return 0;
    }
}
