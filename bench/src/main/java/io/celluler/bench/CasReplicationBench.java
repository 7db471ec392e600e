package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.celluler.cas.object.ContentService;
import io.celluler.cas.replication.Replicator;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.core.cas.ContentUpload;
import io.celluler.proto.cas.v1.GetManifestRequest;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.ChunkRef;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Replication and repair between two cells started in this JVM (network-service and cas-service each, linked on
 * loopback): content of {@code --size-mib} MiB put on cell A with a replication factor of 2, timed until cell B holds
 * every chunk (B fetches them by hash from A through both network-services); then A's whole chunk folder deleted
 * and one anti-entropy pass of A timed while it fetches every chunk back from B. The passes are run by the benchmark
 * (the cells' own interval is set to an hour), so the figures hold the transfer only.
 */
@Command(name = "cas-replication", mixinStandardHelpOptions = true,
        description = "CAS replication between two cells: copy MB/s, repair of a deleted chunk folder MB/s.")
public class CasReplicationBench implements Callable<Integer> {

    @Option(names = "--size-mib", defaultValue = "256")
    int sizeMib;

    @Option(names = "--cell", defaultValue = "34", description = "index of cell A (B is the next one)")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-bench-cas-replication");
        List<String> common = List.of("--logging.threshold.console=WARN", "--celluler.cas.gc.enabled=false",
                "--celluler.cas.replication.interval=1h");
        String seed = "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(cellIndex));
        List<String> services = List.of("network-service", "cas-service");
        try (Cell a = Cell.start(Cell.Options.defaults(dir.resolve("a")).withCellIndex(cellIndex).withServices(services)
                .withExtraArgs(common));
             Cell b = Cell.start(Cell.Options.defaults(dir.resolve("b")).withCellIndex(cellIndex + 1).withServices(services)
                     .withExtraArgs(Stream.concat(common.stream(), Stream.of("--celluler.network.seeds=" + seed)).toList()))) {
            ManagedChannel casA = ServiceChannels.of("cas-service", cellIndex);
            ManagedChannel netA = ServiceChannels.of("network-service", cellIndex);
            try {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (NetworkServiceGrpc.newBlockingStub(netA).listPeers(ListPeersRequest.newBuilder().setCapability("cas-service")
                        .setMemberState(MemberState.MEMBER_STATE_ALIVE).build()).getPeersCount() == 0) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException("cell B did not join cell A within 60 s");
                    }
                    Thread.sleep(100);
                }
                Replicator replicatorA = a.bean("cas-service", Replicator.class);
                ContentService contentB = b.bean("cas-service", ContentService.class);
                // warm-up: a smaller copy first, so that the measured one runs on compiled code
                copy(casA, replicatorA, contentB, 64, 1);
                double[] copied = copy(casA, replicatorA, contentB, sizeMib, 2);
                System.out.printf("CAS replication copy size=%dMiB chunks=%d: %.0f MB/s (%.1f s until cell B held every chunk)%n",
                        sizeMib, (long) copied[1], sizeMib / copied[0], copied[0]);

                Path chunksA = dir.resolve("a/cas-service/store/chunks");
                try (Stream<Path> all = Files.walk(chunksA)) {
                    all.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(chunksA)).forEach(p -> p.toFile().delete());
                }
                long t0 = System.nanoTime();
                Replicator.Pass pass = replicatorA.runPass();
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("CAS repair of a deleted chunk folder: %d of %d missing chunks fetched back in one pass,"
                        + " %.0f MB/s (%.1f s)%n", pass.repaired(), pass.missing(), (sizeMib + 64) / s, s);
            } finally {
                casA.shutdownNow();
                netA.shutdownNow();
            }
        }
        return 0;
    }

    /** Puts {@code mib} MiB on A wanted in 2 copies; returns {seconds until B holds every chunk, chunks}. */
    private static double[] copy(ManagedChannel casA, Replicator replicatorA, ContentService contentB, int mib, long seed)
            throws Exception {
        byte[] data = CasBench.SplitMix.bytes(seed, mib << 20);
        String root = ContentUpload.put(casA, data, 1 << 20, PutRequest.newBuilder().setReplicationFactor(2).build(),
                Duration.ofMinutes(10)).getObject().getRoot();
        List<String> hashes = CasServiceGrpc.newBlockingStub(casA).getManifest(GetManifestRequest.newBuilder().setRoot(root)
                .build()).getChunksList().stream().map(ChunkRef::getSha256).distinct().toList();
        long t0 = System.nanoTime();
        Replicator.Pass pass = replicatorA.runPass();
        if (pass.copiesRequested() != 1) {
            throw new IllegalStateException("cell A asked " + pass.copiesRequested() + " cells for a copy, not 1: " + pass);
        }
        long until = t0 + TimeUnit.MINUTES.toNanos(10);
        while (contentB.present(hashes).size() < hashes.size()) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("cell B did not fetch the copy within 10 minutes");
            }
            Thread.sleep(20);
        }
        return new double[] {(System.nanoTime() - t0) / 1e9, hashes.size()};
    }
}
