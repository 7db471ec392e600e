package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.celluler.cas.erasure.ReedSolomon;
import io.celluler.cas.replication.ErasureIndex;
import io.celluler.cas.replication.Replicator;
import io.celluler.cas.store.Erasure;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.core.cas.ContentUpload;
import io.celluler.proto.cas.v1.ErasureCoding;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Erasure coding: the Reed–Solomon codec alone (encode and rebuild, one thread, 64 KiB chunks), then k + m + 1
 * cells started in this JVM (network-service and cas-service each, linked on loopback): content of
 * {@code --size-mib} MiB put on cell A coded k+m, one anti-entropy pass of A places the k + m shard indexes, timed
 * until every other cell holds its shards (each fetches them from A, which encodes them on demand); then A's whole
 * chunk folder deleted and one pass of A timed while it rebuilds every chunk from k shards fetched from the others.
 * The passes are run by the benchmark (the cells' own interval is an hour), so the figures hold the work only.
 */
@Command(name = "cas-erasure", mixinStandardHelpOptions = true,
        description = "CAS erasure coding: codec MB/s; shard placement over k+m cells and rebuild of a deleted chunk folder, MB/s.")
public class CasErasureBench implements Callable<Integer> {

    @Option(names = "--size-mib", defaultValue = "128")
    int sizeMib;

    @Option(names = "--erasure", defaultValue = "2+1", description = "k+m")
    String scheme;

    @Option(names = "--cell", defaultValue = "40", description = "index of cell A (the others follow)")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Erasure e = Erasure.parse(scheme);
        codec(new ReedSolomon(e.dataShards(), e.parityShards()));

        Path dir = Files.createTempDirectory("celluler-bench-cas-erasure");
        List<String> common = List.of("--logging.threshold.console=WARN", "--celluler.cas.gc.enabled=false",
                "--celluler.cas.replication.interval=1h");
        String seed = "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(cellIndex));
        List<String> services = List.of("network-service", "cas-service");
        List<Cell> cells = new ArrayList<>();
        try {
            for (int i = 0; i <= e.totalShards(); i++) {
                List<String> args = i == 0 ? common : Stream.concat(common.stream(), Stream.of("--celluler.network.seeds=" + seed)).toList();
                cells.add(Cell.start(Cell.Options.defaults(dir.resolve("cell-" + i)).withCellIndex(cellIndex + i)
                        .withServices(services).withExtraArgs(args)));
            }
            ManagedChannel casA = ServiceChannels.of("cas-service", cellIndex);
            ManagedChannel netA = ServiceChannels.of("network-service", cellIndex);
            try {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (NetworkServiceGrpc.newBlockingStub(netA).listPeers(ListPeersRequest.newBuilder().setCapability("cas-service")
                        .setMemberState(MemberState.MEMBER_STATE_ALIVE).build()).getPeersCount() < e.totalShards()) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException("the other cells did not join cell A within 60 s");
                    }
                    Thread.sleep(100);
                }
                Replicator a = cells.get(0).bean("cas-service", Replicator.class);
                List<ErasureIndex> keepers = cells.subList(1, cells.size()).stream()
                        .map(c -> c.bean("cas-service", ErasureIndex.class)).toList();
                place(casA, a, keepers, e, 32, 1); // warm-up: the measured run goes on compiled code
                double s = place(casA, a, keepers, e, sizeMib, 2);
                System.out.printf("CAS erasure %s placement size=%dMiB: %.0f MB/s of content (%.1f s until %d cells held"
                        + " their shards)%n", e, sizeMib, sizeMib / s, s, e.totalShards());

                Path chunksA = dir.resolve("cell-0/cas-service/store/chunks");
                try (Stream<Path> all = Files.walk(chunksA)) {
                    all.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(chunksA)).forEach(p -> p.toFile().delete());
                }
                long t0 = System.nanoTime();
                Replicator.Pass pass = a.runPass();
                double r = (System.nanoTime() - t0) / 1e9;
                System.out.printf("CAS erasure %s rebuild of a deleted chunk folder: %d of %d missing chunks rebuilt from shards"
                        + " in one pass, %.0f MB/s (%.1f s)%n", e, pass.shards().chunksRebuilt(), pass.missing(),
                        (sizeMib + 32) / r, r);
            } finally {
                casA.shutdownNow();
                netA.shutdownNow();
            }
        } finally {
            for (Cell c : cells.reversed()) {
                c.close();
            }
        }
        return 0;
    }

    /** Encode (parity of k 64 KiB data shards' worth) and rebuild (m data shards lost) throughput, one thread. */
    private static void codec(ReedSolomon rs) {
        int k = rs.dataShards();
        int m = rs.parityShards();
        byte[] chunk = CasBench.SplitMix.bytes(7, 64 << 10);
        byte[][] data = rs.split(chunk);
        for (int round = 0; round < 2; round++) { // the first round warms up
            long n = 0;
            long t0 = System.nanoTime();
            while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2)) {
                rs.encode(data);
                n += chunk.length;
            }
            double enc = n / ((System.nanoTime() - t0) / 1e9) / 1e6;
            byte[][] parity = rs.encode(data);
            n = 0;
            t0 = System.nanoTime();
            while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2)) {
                byte[][] shards = new byte[k + m][];
                System.arraycopy(data, 0, shards, 0, k);
                System.arraycopy(parity, 0, shards, k, m);
                for (int i = 0; i < Math.min(m, k); i++) {
                    shards[i] = null;
                }
                rs.reconstruct(shards);
                n += chunk.length;
            }
            double rec = n / ((System.nanoTime() - t0) / 1e9) / 1e6;
            if (round == 1) {
                System.out.printf("Reed-Solomon %d+%d on 64 KiB chunks, one thread: encode %.0f MB/s, rebuild with %d data"
                        + " shards lost %.0f MB/s (MB of chunk)%n", k, m, enc, Math.min(m, k), rec);
            }
        }
    }

    /** Puts {@code mib} MiB on A coded {@code e}; returns the seconds from A's pass until every keeper holds its shards. */
    private static double place(ManagedChannel casA, Replicator a, List<ErasureIndex> keepers, Erasure e, int mib, long seed)
            throws Exception {
        byte[] data = CasBench.SplitMix.bytes(seed, mib << 20);
        ContentUpload.put(casA, data, 1 << 20, PutRequest.newBuilder().setErasure(ErasureCoding.newBuilder()
                .setDataShards(e.dataShards()).setParityShards(e.parityShards())).build(), Duration.ofMinutes(10));
        long t0 = System.nanoTime();
        Replicator.Pass pass = a.runPass();
        if (pass.shards().shardsRequested() != e.totalShards()) {
            throw new IllegalStateException("cell A placed " + pass.shards().shardsRequested() + " shard indexes, not "
                    + e.totalShards() + ": " + pass);
        }
        long until = t0 + TimeUnit.MINUTES.toNanos(10);
        while (keepers.stream().anyMatch(k -> !k.incompleteHolds(1).isEmpty())) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the shards were not all kept within 10 minutes");
            }
            Thread.sleep(20);
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
