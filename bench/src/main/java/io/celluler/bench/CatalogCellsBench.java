package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.proto.catalog.v1.CatalogServiceGrpc;
import io.celluler.proto.catalog.v1.CreateEntryRequest;
import io.celluler.proto.catalog.v1.EntryType;
import io.celluler.proto.catalog.v1.GetSyncStatusRequest;
import io.celluler.proto.catalog.v1.UpdateLabelsRequest;
import io.celluler.proto.network.v1.BlacklistPeerRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.UnblacklistPeerRequest;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * catalog-service in cells: four cells (network-service and catalog-service each, embedded H2) in this JVM on
 * loopback. First local updates per second through gRPC on cell A ({@code --clients} callers setting labels on
 * random entries of 3,000; each answered once committed: group commit). Then cell D is partitioned away (every
 * link refused, both ways), makes {@code --partition-updates} updates, and the time from healing until all four
 * replicas hold the same state (equal Merkle roots) is measured.
 */
@Command(name = "catalog-cells", mixinStandardHelpOptions = true,
        description = "catalog-service: updates/s through gRPC, 4-cell convergence after a partitioned cell's updates.")
public class CatalogCellsBench implements Callable<Integer> {

    @Option(names = "--clients", defaultValue = "16")
    int clients;

    @Option(names = "--seconds", defaultValue = "10")
    int seconds;

    @Option(names = "--partition-updates", defaultValue = "100000")
    int partitionUpdates;

    @Option(names = "--cell", defaultValue = "51", description = "index of cell A (the others follow)")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-bench-catalog");
        String seed = "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(cellIndex));
        List<Cell> cells = new ArrayList<>();
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            cells.add(startCell(dir, 0, seed));
            ManagedChannel first = ServiceChannels.of("catalog-service", cellIndex);
            channels.add(first);
            List<String> entries = new ArrayList<>();
            var a = CatalogServiceGrpc.newBlockingStub(first);
            awaitReady(a);
            for (int i = 0; i < 3000; i++) {
                entries.add(a.createEntry(CreateEntryRequest.newBuilder().setType(EntryType.ENTRY_TYPE_SNAPSHOT)
                        .setName("snapshot-" + i).putLabels("env", "prod").build()).getEntry().getEntryId());
            }
            updates(first, entries, "warm-up", 3, "alone");
            updates(first, entries, "measured", seconds, "alone: no other cell");
            for (int i = 1; i < 4; i++) {
                cells.add(startCell(dir, i, seed));
            }
            List<ManagedChannel> cats = new ArrayList<>();
            List<ManagedChannel> nets = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                cats.add(ServiceChannels.of("catalog-service", cellIndex + i));
                nets.add(ServiceChannels.of("network-service", cellIndex + i));
                ids.add(NetworkServiceGrpc.newBlockingStub(nets.get(i)).getCellInfo(GetCellInfoRequest
                        .getDefaultInstance()).getCellId());
            }
            channels.addAll(cats);
            channels.addAll(nets);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (NetworkServiceGrpc.newBlockingStub(nets.get(0)).listPeers(ListPeersRequest.newBuilder()
                    .setCapability("catalog-service").setMemberState(MemberState.MEMBER_STATE_ALIVE).build())
                    .getPeersCount() < 3) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("the cells did not join within 60 s");
                }
                Thread.sleep(100);
            }
            awaitConverged(cats, 300);
            updates(cats.get(0), entries, "measured", seconds, "gossiped to 3 cells, all four in this JVM");
            awaitConverged(cats, 300);

            // ---- D partitioned away makes its updates; the time to converge after healing -------------------
            int d = 3;
            for (int i = 0; i < d; i++) {
                blacklist(nets.get(i), ids.get(d), true);
                blacklist(nets.get(d), ids.get(i), true);
            }
            long t0 = System.nanoTime();
            AtomicLong made = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                fs.add(pool.submit(() -> {
                    var stub = CatalogServiceGrpc.newBlockingStub(cats.get(d));
                    for (long n = made.getAndIncrement(); n < partitionUpdates; n = made.getAndIncrement()) {
                        stub.updateLabels(UpdateLabelsRequest.newBuilder()
                                .setEntryId(entries.get((int) (n % entries.size())))
                                .putSetLabels("partitioned", "u" + n).putSetLabels("c" + client, "x").build());
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            pool.shutdown();
            double madeIn = (System.nanoTime() - t0) / 1e9;
            for (int i = 0; i < d; i++) {
                blacklist(nets.get(i), ids.get(d), false);
                blacklist(nets.get(d), ids.get(i), false);
            }
            long t1 = System.nanoTime();
            // links come back first (network-service's membership sees D alive again on every cell) ...
            long linked = 0;
            for (long end = t1 + TimeUnit.SECONDS.toNanos(120); linked == 0 && System.nanoTime() < end; ) {
                boolean all = true;
                for (int i = 0; i < d; i++) {
                    String dId = ids.get(d);
                    all &= NetworkServiceGrpc.newBlockingStub(nets.get(i)).listPeers(ListPeersRequest.newBuilder()
                            .setCapability("catalog-service").setMemberState(MemberState.MEMBER_STATE_ALIVE).build())
                            .getPeersList().stream().anyMatch(p -> p.getCellId().equals(dId) && !p.getBlacklisted());
                }
                if (all) {
                    linked = System.nanoTime();
                } else {
                    Thread.sleep(20);
                }
            }
            awaitConverged(cats, 600);
            long t2 = System.nanoTime();
            System.out.printf("CATALOG 4 cells: cell D made %d updates while partitioned (%.1f s); all four replicas"
                    + " equal %.2f s after the partition healed (D seen alive again by all after %.2f s, then %.2f s"
                    + " of catalog catch-up)%n", partitionUpdates, madeIn, (t2 - t1) / 1e9,
                    linked == 0 ? Double.NaN : (linked - t1) / 1e9, linked == 0 ? Double.NaN : (t2 - linked) / 1e9);
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            for (int i = cells.size() - 1; i >= 0; i--) {
                cells.get(i).close();
            }
        }
        return 0;
    }

    private Cell startCell(Path dir, int i, String seed) {
        List<String> args = new ArrayList<>(List.of("--logging.threshold.console=WARN",
                "--celluler.catalog.replication.anti-entropy-interval=2s"));
        if (i > 0) {
            args.add("--celluler.network.seeds=" + seed);
        }
        return Cell.start(Cell.Options.defaults(dir.resolve("c" + i)).withCellIndex(cellIndex + i)
                .withServices(List.of("network-service", "catalog-service")).withExtraArgs(args));
    }

    private static void awaitReady(CatalogServiceGrpc.CatalogServiceBlockingStub stub) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            try {
                stub.getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
                return;
            } catch (io.grpc.StatusRuntimeException e) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("catalog-service did not get ready within 60 s");
    }

    private void updates(ManagedChannel ch, List<String> entries, String phase, int secs, String how)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        Latencies lat = new Latencies(2_000_000);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            fs.add(pool.submit(() -> {
                var stub = CatalogServiceGrpc.newBlockingStub(ch);
                java.util.Random r = new java.util.Random(client);
                long[] samples = new long[1024];
                int n = 0;
                while (System.nanoTime() < end) {
                    long s = System.nanoTime();
                    stub.updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(entries.get(r.nextInt(entries.size())))
                            .putSetLabels("tier", "t" + r.nextInt(8)).build());
                    samples[n++] = System.nanoTime() - s;
                    if (n == samples.length) {
                        lat.add(samples, n, n);
                        n = 0;
                    }
                }
                lat.add(samples, n, n);
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        double s = (System.nanoTime() - t0) / 1e9;
        if (phase.equals("measured")) {
            System.out.printf("CATALOG updates through gRPC (cell A, %s; %d clients, 3,000 entries, each answered"
                    + " once committed): %s%n", how, clients, lat.summary(s));
        }
    }

    private static void blacklist(ManagedChannel net, String cell, boolean on) {
        var stub = NetworkServiceGrpc.newBlockingStub(net);
        if (on) {
            stub.blacklistPeer(BlacklistPeerRequest.newBuilder().setCellId(cell).setReason("bench partition")
                    .setDuration(com.google.protobuf.Duration.newBuilder().setSeconds(3600)).build());
        } else {
            stub.unblacklistPeer(UnblacklistPeerRequest.newBuilder().setCellId(cell).build());
        }
    }

    private static void awaitConverged(List<ManagedChannel> cats, int seconds) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            Set<String> roots = new HashSet<>();
            try {
                for (ManagedChannel c : cats) {
                    roots.add(CatalogServiceGrpc.newBlockingStub(c).getSyncStatus(GetSyncStatusRequest
                            .getDefaultInstance()).getMerkleRoot());
                }
            } catch (io.grpc.StatusRuntimeException e) {
                roots.add("unreachable");
                roots.add(e.getMessage());
            }
            if (roots.size() == 1) {
                return;
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("no convergence within " + seconds + " s");
            }
            Thread.sleep(20);
        }
    }
}
