package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.FeedServiceGrpc;
import io.celluler.proto.data.v1.FollowFeedRequest;
import io.celluler.proto.data.v1.GetFeedRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Feed replication between two cells started in this JVM (network-service and data-service each, embedded H2, linked
 * on loopback): a feed of {@code --entries} entries of 512 B and one of {@code --large-entries} of 64 KiB appended on
 * cell A in batches of 128, then followed by cell B, timed from FollowFeed until B has verified and stored every
 * entry (each answer of A's through both network-services, checked against A's signed root by a range proof, stored
 * in one transaction). A smaller feed is replicated first, so that the measured ones run on compiled code.
 */
@Command(name = "data-replication", mixinStandardHelpOptions = true,
        description = "data-service: replication throughput between two cells (512 B and 64 KiB entries).")
public class DataReplicationBench implements Callable<Integer> {

    @Option(names = "--entries", defaultValue = "102400", description = "512 B entries")
    int entries;

    @Option(names = "--large-entries", defaultValue = "4096", description = "64 KiB entries")
    int largeEntries;

    @Option(names = "--cell", defaultValue = "36", description = "index of cell A (B is the next one)")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-bench-data-replication");
        List<String> common = List.of("--logging.threshold.console=WARN");
        String seed = "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(cellIndex));
        List<String> services = List.of("network-service", "data-service");
        try (Cell a = Cell.start(Cell.Options.defaults(dir.resolve("a")).withCellIndex(cellIndex).withServices(services)
                .withExtraArgs(common));
             Cell b = Cell.start(Cell.Options.defaults(dir.resolve("b")).withCellIndex(cellIndex + 1).withServices(services)
                     .withExtraArgs(Stream.concat(common.stream(), Stream.of("--celluler.network.seeds=" + seed)).toList()))) {
            ManagedChannel dataA = ServiceChannels.of("data-service", cellIndex);
            ManagedChannel dataB = ServiceChannels.of("data-service", cellIndex + 1);
            ManagedChannel netA = ServiceChannels.of("network-service", cellIndex);
            try {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (NetworkServiceGrpc.newBlockingStub(netA).listPeers(ListPeersRequest.newBuilder().setCapability("data-service")
                        .setMemberState(MemberState.MEMBER_STATE_ALIVE).build()).getPeersCount() == 0) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException("cell B did not join cell A within 60 s");
                    }
                    Thread.sleep(100);
                }
                String idA = NetworkServiceGrpc.newBlockingStub(netA).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId();
                run(dataA, dataB, idA, "warm-up", 512, 20_480);
                run(dataA, dataB, idA, "small", 512, entries);
                run(dataA, dataB, idA, "large", 64 << 10, largeEntries);
            } finally {
                Stream.of(dataA, dataB, netA).forEach(ManagedChannel::shutdownNow);
            }
        }
        return 0;
    }

    private static void run(ManagedChannel a, ManagedChannel b, String idA, String name, int size, int count) throws Exception {
        FeedServiceGrpc.FeedServiceBlockingStub feedsA = FeedServiceGrpc.newBlockingStub(a);
        String key = feedsA.createFeed(CreateFeedRequest.newBuilder().setName(name).build()).getFeed().getFeedKey();
        byte[] entry = new byte[size];
        for (int done = 0; done < count; done += 128) {
            AppendRequest.Builder r = AppendRequest.newBuilder().setFeedKey(key);
            for (int i = 0; i < Math.min(128, count - done); i++) {
                entry[0] = (byte) (done + i);
                entry[1] = (byte) ((done + i) >> 8);
                r.addEntries(ByteString.copyFrom(entry));
            }
            feedsA.append(r.build());
        }
        FeedServiceGrpc.FeedServiceBlockingStub feedsB = FeedServiceGrpc.newBlockingStub(b);
        long t0 = System.nanoTime();
        feedsB.followFeed(FollowFeedRequest.newBuilder().setFeedKey(key).addSourceCellIds(idA).build());
        long until = t0 + TimeUnit.MINUTES.toNanos(10);
        while (feedsB.getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed().getReplication()
                .getDownloadedEntries() < count) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("cell B did not replicate " + name + " within 10 minutes");
            }
            Thread.sleep(10);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (!name.equals("warm-up")) {
            System.out.printf("data replication %s: %d entries of %d B (%.1f MB) in %.2f s = %.0f entries/s, %.1f MB/s%n", name,
                    count, size, (double) count * size / 1e6, s, count / s, count * (double) size / s / 1e6);
        }
    }
}
