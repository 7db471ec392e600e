package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.data.tree.Proofs;
import io.celluler.data.tree.SignedRoots;
import io.celluler.data.tree.TreeHash;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.FeedServiceGrpc;
import io.celluler.proto.data.v1.GetEntryRequest;
import io.celluler.proto.data.v1.GetEntryResponse;
import io.celluler.proto.data.v1.InclusionProof;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * data-service feeds: one data-service (embedded H2 file) started in this JVM, a client on loopback gRPC appending
 * batches of {@code --batch} entries of 512 B and of 64 KiB, one call after the other (each answered once durable and
 * signed) for {@code --seconds}; then inclusion proofs of random entries fetched and verified the way a client does
 * (the path to the roots, the root hash, the owner's Ed25519 signature), timed on the client alone.
 */
@Command(name = "data-feed", mixinStandardHelpOptions = true,
        description = "data-service: append throughput (512 B and 64 KiB entries in batches), proof verification time.")
public class DataFeedBench implements Callable<Integer> {

    @Option(names = "--batch", defaultValue = "128")
    int batch;

    @Option(names = "--seconds", defaultValue = "10")
    int seconds;

    @Option(names = "--cell", defaultValue = "46")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-bench-data-feed");
        try (Cell cell = Cell.start(Cell.Options.defaults(dir).withCellIndex(cellIndex).withServices(List.of("data-service"))
                .withExtraArgs(List.of("--logging.threshold.console=WARN")))) {
            ManagedChannel ch = ServiceChannels.of("data-service", cellIndex);
            try {
                FeedServiceGrpc.FeedServiceBlockingStub feeds = FeedServiceGrpc.newBlockingStub(ch);
                appendRun(feeds, "warm-up", 512, 3); // compiled code for the measured runs
                String small = appendRun(feeds, "small", 512, seconds);
                appendRun(feeds, "large", 64 << 10, seconds);
                verifyRun(feeds, small);
            } finally {
                ch.shutdownNow();
            }
        }
        return 0;
    }

    private String appendRun(FeedServiceGrpc.FeedServiceBlockingStub feeds, String name, int size, int secs) {
        String key = feeds.createFeed(CreateFeedRequest.newBuilder().setName(name).build()).getFeed().getFeedKey();
        List<ByteString> entries = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            entries.add(ByteString.copyFrom(CasBench.SplitMix.bytes(i + 1L, size)));
        }
        AppendRequest request = AppendRequest.newBuilder().setFeedKey(key).addAllEntries(entries).build();
        long calls = 0;
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(secs);
        while (System.nanoTime() < end) {
            feeds.append(request);
            calls++;
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (!name.equals("warm-up")) {
            System.out.printf("DATA append entry=%dB batch=%d: %.0f entries/s, %.1f MB/s, %.1f ms a batch (%d batches)%n", size,
                    batch, calls * batch / s, calls * batch * (double) size / s / 1e6, s * 1000 / calls, calls);
        }
        return key;
    }

    private static void verifyRun(FeedServiceGrpc.FeedServiceBlockingStub feeds, String key) throws Exception {
        HexFormat hex = HexFormat.of();
        long length = feeds.getFeed(io.celluler.proto.data.v1.GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed().getLength();
        java.util.Random r = new java.util.Random(1);
        List<GetEntryResponse> proofs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            proofs.add(feeds.getEntry(GetEntryRequest.newBuilder().setFeedKey(key).setIndex(Math.floorMod(r.nextLong(), length))
                    .setIncludeProof(true).build()));
        }
        byte[] feedKey = hex.parseHex(key);
        for (int round = 0; round < 2; round++) { // the first round warms up
            long t0 = System.nanoTime();
            int nodes = 0;
            for (GetEntryResponse e : proofs) {
                InclusionProof p = e.getProof();
                List<Node> path = p.getNodesList().stream().map(n -> new Node(n.getIndex(), hex.parseHex(n.getHash()), n.getSizeBytes())).toList();
                nodes += path.size();
                List<Node> roots = Proofs.rootsFromInclusion(p.getIndex(), e.getEntry().getData().toByteArray(),
                        p.getSignedRoot().getLength(), path);
                byte[] rootHash = TreeHash.rootHash(roots);
                if (!hex.formatHex(rootHash).equals(p.getSignedRoot().getRoot()) || !SignedRoots.verify(feedKey,
                        p.getSignedRoot().getLength(), p.getSignedRoot().getByteLength(), rootHash, p.getSignedRoot().getSignature().toByteArray())) {
                    throw new IllegalStateException("a proof did not verify");
                }
            }
            double us = (System.nanoTime() - t0) / 1e3 / proofs.size();
            if (round == 1) {
                System.out.printf("DATA inclusion proof verification (length %d, %.1f nodes a proof, with the Ed25519 signature):"
                        + " %.1f us a proof%n", length, nodes / (double) proofs.size(), us);
            }
        }
    }
}
