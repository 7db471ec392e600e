package io.celluler.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.AntiEntropy;
import io.celluler.catalog.engine.CatalogReplica;
import io.celluler.catalog.engine.CatalogReplica.DeltaBatch;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.replication.CatalogWire;
import io.celluler.proto.catalog.v1.AntiEntropyAnswer;
import io.celluler.proto.catalog.v1.AntiEntropyAsk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * catalog-service's CRDT engine in this JVM, no service around it: local updates per second (label sets on random
 * entries of a replica of {@code --entries}, each made as a delta, joined, hashed for the Merkle ranges and logged);
 * the latency of merging a gossip batch of 1,000 deltas (as received: decoded from the wire, then joined); and the
 * bytes an anti-entropy round ships between two replicas of {@code --ae-entries} entries of which one differs,
 * every message encoded as it goes on the wire.
 */
@Command(name = "catalog-engine", mixinStandardHelpOptions = true,
        description = "catalog-service engine: local updates/s, merge latency of a 1,000-delta batch, anti-entropy bytes.")
public class CatalogEngineBench implements Callable<Integer> {

    @Option(names = "--entries", split = ",", defaultValue = "300,3000")
    int[] entries;

    @Option(names = "--seconds", defaultValue = "5")
    int seconds;

    @Option(names = "--ae-entries", defaultValue = "1000000")
    int aeEntries;

    private final Random random = new Random(1);
    private long now = 1_700_000_000_000L;

    @Override
    public Integer call() {
        for (int n : entries) {
            localUpdates(n);
        }
        mergeLatency();
        antiEntropyBytes();
        return 0;
    }

    private String id() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private List<String> fill(CatalogReplica r, int n) {
        List<String> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = id();
            r.create(id, 1, "snapshot-" + i, "", "ab".repeat(32), 1L << 20, ByteString.EMPTY,
                    Map.of("env", "prod", "team", "t" + (i % 10)), ByteString.EMPTY, now++);
            ids.add(id);
        }
        return ids;
    }

    private void localUpdates(int n) {
        CatalogReplica r = new CatalogReplica("cell-a", 60_000, 1_000_000);
        List<String> ids = fill(r, n);
        for (String phase : List.of("warm-up", "measured")) {
            long t0 = System.nanoTime();
            long end = t0 + (phase.equals("warm-up") ? 2L : seconds) * 1_000_000_000L;
            long ops = 0;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 1000; i++) {
                    r.updateLabels(ids.get(random.nextInt(n)), Map.of("tier", "t" + (ops & 7)), Set.of(), now++);
                    ops++;
                }
                if (r.logSize() > 200_000) {
                    r.onAck("cell-b", Map.of("cell-a", r.seq())); // a peer keeps up: the log stays bounded
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (phase.equals("measured")) {
                System.out.printf("CATALOG engine local updates entries=%d: %.0f updates/s (%d in %.1f s, one thread)%n",
                        n, ops / s, ops, s);
            }
        }
    }

    private void mergeLatency() {
        CatalogReplica a = new CatalogReplica("cell-a", 60_000, 1_000_000);
        CatalogReplica b = new CatalogReplica("cell-b", 60_000, 1_000_000);
        List<String> ids = fill(a, 10_000);
        b.onDeltas(a.gossipTo("cell-b", 100_000), now);
        a.onAck("cell-b", b.knowledgeVector());
        int rounds = 400;
        long[] joinNanos = new long[rounds];
        long[] wholeNanos = new long[rounds];
        for (int k = 0; k < rounds; k++) {
            int start = random.nextInt(ids.size() - 1000);
            for (int i = 0; i < 1000; i++) {
                a.updateLabels(ids.get(start + i), Map.of("round", "r" + k), Set.of(), now++);
            }
            DeltaBatch sent = a.gossipTo("cell-b", 1000);
            List<byte[]> wire = new ArrayList<>(1000);
            sent.deltas().forEach(d -> wire.add(EntryCodec.encode(d.state()).toByteArray()));
            long t0 = System.nanoTime();
            List<CatalogReplica.Delta> decoded = new ArrayList<>(1000);
            for (int i = 0; i < wire.size(); i++) {
                try {
                    decoded.add(new CatalogReplica.Delta(sent.deltas().get(i).seq(),
                            EntryCodec.decode(io.celluler.proto.catalog.v1.EntryCrdt.parseFrom(wire.get(i)))));
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    throw new IllegalStateException(e);
                }
            }
            long t1 = System.nanoTime();
            b.onDeltas(new DeltaBatch("cell-a", decoded, sent.knowledge(), sent.originSeq()), now);
            long t2 = System.nanoTime();
            a.onAck("cell-b", b.knowledgeVector());
            joinNanos[k] = t2 - t1;
            wholeNanos[k] = t2 - t0;
        }
        if (!a.digest("").sameAs(b.digest(""))) {
            throw new IllegalStateException("the replicas differ after merging");
        }
        // the first quarter warms the code up
        long[] join = Arrays.copyOfRange(joinNanos, rounds / 4, rounds);
        long[] whole = Arrays.copyOfRange(wholeNanos, rounds / 4, rounds);
        Arrays.sort(join);
        Arrays.sort(whole);
        System.out.printf("CATALOG engine merge of a 1,000-delta batch (replica of 10,000 entries, %d batches):"
                + " join p50=%.2f ms p99=%.2f ms; decode+join p50=%.2f ms p99=%.2f ms max=%.2f ms%n", join.length,
                pct(join, 0.5), pct(join, 0.99), pct(whole, 0.5), pct(whole, 0.99), whole[whole.length - 1] / 1e6);
    }

    private void antiEntropyBytes() {
        CatalogReplica a = new CatalogReplica("cell-a", 60_000, 10);
        CatalogReplica b = new CatalogReplica("cell-b", 60_000, 10);
        long t0 = System.nanoTime();
        List<String> ids = fill(a, aeEntries);
        // b gets the same states (as anti-entropy's states would reach it)
        List<io.celluler.catalog.engine.EntryState> copies = new ArrayList<>(aeEntries);
        long stateBytes = 0;
        for (String id : ids) {
            var m = EntryCodec.encode(a.state(id));
            stateBytes += m.getSerializedSize();
            copies.add(EntryCodec.decode(m));
            if (copies.size() == 10_000) {
                b.mergeStates(copies, now);
                copies.clear();
            }
        }
        b.mergeStates(copies, now);
        System.out.printf("CATALOG anti-entropy setup: two replicas of %d entries (%.1f MB of states) in %.1f s%n",
                aeEntries, stateBytes / 1e6, (System.nanoTime() - t0) / 1e9);
        String changed = ids.get(aeEntries / 2);
        a.updateLabels(changed, Map.of("changed", "yes"), Set.of(), now++);

        AntiEntropy.Session s = new AntiEntropy.Session(b, "cell-a", AntiEntropy.Limits.DEFAULT);
        long sent = 0;
        long received = 0;
        long t1 = System.nanoTime();
        for (AntiEntropy.Request q = s.next(); q != null; q = s.next()) {
            AntiEntropyAsk ask = CatalogWire.ask(q);
            sent += ask.getSerializedSize();
            AntiEntropy.Response r = AntiEntropy.answer(a, "cell-b", CatalogWire.request(ask), now, 512 * 1024)
                    .response();
            AntiEntropyAnswer answer = CatalogWire.answer(r);
            received += answer.getSerializedSize();
            s.onResponse(CatalogWire.response(answer), now);
        }
        double ms = (System.nanoTime() - t1) / 1e6;
        if (!a.digest("").sameAs(b.digest(""))) {
            throw new IllegalStateException("the replicas differ after the round");
        }
        AntiEntropy.Result res = s.result();
        long one = EntryCodec.encode(a.state(changed)).getSerializedSize();
        System.out.printf("CATALOG anti-entropy 1 of %d entries differs: %d round trips, %d B asked + %d B answered ="
                + " %d B (the entry itself: %d B; all states: %.1f MB), %d range(s) listed, %d state(s) each way,"
                + " %.1f ms in this JVM%n", aeEntries, res.roundTrips(), sent, received, sent + received, one,
                stateBytes / 1e6, res.divergentRanges(), res.entriesReceived(), ms);
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}
