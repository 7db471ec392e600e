package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.CellService;
import io.celluler.core.identity.Ed25519;
import io.celluler.core.peer.PeerNetwork;
import io.celluler.data.tree.FlatTree;
import io.celluler.data.tree.Proofs;
import io.celluler.data.tree.SignedRoots;
import io.celluler.data.tree.TreeHash;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.Entry;
import io.celluler.proto.data.v1.FeedInfo;
import io.celluler.proto.data.v1.FeedPeerRequest;
import io.celluler.proto.data.v1.FeedPeerResponse;
import io.celluler.proto.data.v1.FeedServiceGrpc;
import io.celluler.proto.data.v1.FeedType;
import io.celluler.proto.data.v1.FollowFeedRequest;
import io.celluler.proto.data.v1.GetEntryRequest;
import io.celluler.proto.data.v1.GetFeedRequest;
import io.celluler.proto.data.v1.GetRangeRequest;
import io.celluler.proto.data.v1.GetSignedRootRequest;
import io.celluler.proto.data.v1.GetValueRequest;
import io.celluler.proto.data.v1.IndexRange;
import io.celluler.proto.data.v1.PeerConsistencyNodes;
import io.celluler.proto.data.v1.PeerEntries;
import io.celluler.proto.data.v1.PeerFetch;
import io.celluler.proto.data.v1.PeerHeadState;
import io.celluler.proto.data.v1.PutValueRequest;
import io.celluler.proto.data.v1.SignedRoot;
import io.celluler.proto.data.v1.SubscribeRequest;
import io.celluler.proto.data.v1.SubscribeResponse;
import io.celluler.proto.data.v1.TreeNode;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.ListBlacklistRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.UnblacklistPeerRequest;
import io.celluler.core.test.QueueObserver;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6 "done when", replication between real cell processes on loopback: {@code celluler up --cells 2 --services
 * network-service,data-service} and a third cell that runs network-service only, where this test answers the
 * {@code data} topic itself with feeds it signs (an independent implementation of the peer protocol). A replica
 * following a feed on the other cell ends byte-identical (entries of every size up to 1 MiB, a key-value feed, a
 * sparse range, the live tail); a feed whose key signs a second history is detected as forked with both roots as
 * evidence; a head naming the feed with what is not a feed name, and a peer serving a tampered entry, are rejected and
 * reported (blacklisted), and nothing they sent is stored.
 */
class DataReplicationIT {

    static final int FIRST = 31;
    static final int OUTSIDER = 33;
    static final CellService DATA = service("data-service");
    static final CellService NETWORK = service("network-service");
    static final HexFormat HEX = HexFormat.of();

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();
    final List<Process> processes = new ArrayList<>();
    final java.util.concurrent.ExecutorService workers = Executors.newFixedThreadPool(2);
    final java.util.concurrent.ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
    PeerNetwork<FeedPeerRequest, FeedPeerResponse> outsider;

    static CellService service(String name) {
        return CellService.ALL.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (outsider != null) {
            outsider.close();
        }
        workers.shutdownNow();
        retries.shutdownNow();
        channels.forEach(ManagedChannel::shutdownNow);
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(condition::getAsBoolean);
    }

    ManagedChannel channel(int port) {
        ManagedChannel c = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(32 << 20).build();
        channels.add(c);
        return c;
    }

    Process start(String... args) throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m",
                "-jar", jar.toString(), "up"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        assertThat(UpOutput.untilUp(p)).contains("Press Ctrl-C");
        return p;
    }

    static String cellId(ManagedChannel network) {
        return NetworkServiceGrpc.newBlockingStub(network).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId();
    }

    static FeedServiceGrpc.FeedServiceBlockingStub feeds(ManagedChannel c) {
        return FeedServiceGrpc.newBlockingStub(c).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    static List<byte[]> range(ManagedChannel c, String key, boolean localOnly) {
        List<byte[]> out = new ArrayList<>();
        feeds(c).getRange(GetRangeRequest.newBuilder().setFeedKey(key).setLocalOnly(localOnly).build())
                .forEachRemaining(r -> out.add(r.getEntry().getData().toByteArray()));
        return out;
    }

    static FeedInfo info(ManagedChannel c, String key) {
        return feeds(c).getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed();
    }

    static void assertSignedBy(String key, SignedRoot s) {
        assertThat(SignedRoots.verify(HEX.parseHex(key), s.getLength(), s.getByteLength(), HEX.parseHex(s.getRoot()),
                s.getSignature().toByteArray())).as("signed by the feed key").isTrue();
    }

    @Test
    void replicasAreByteIdenticalForksAreDetectedAndTamperingIsRejected() throws Exception {
        start("--cells", "2", "--cell", String.valueOf(FIRST), "--services", "network-service,data-service", "--data-dir",
                dataDir.resolve("net").toString(), "--set", "celluler.data.replication.interval=500ms");
        start("--cell", String.valueOf(OUTSIDER), "--services", "network-service", "--data-dir", dataDir.resolve("outsider").toString(),
                "--seeds", "127.0.0.1:" + (io.celluler.cli.cell.Cell.P2P_PORT + CellService.offset(FIRST)));
        ManagedChannel owner = channel(DATA.grpcPort(FIRST));
        ManagedChannel replica = channel(DATA.grpcPort(FIRST + 1));
        String ownerId = cellId(channel(NETWORK.grpcPort(FIRST)));
        ManagedChannel replicaNetwork = channel(NETWORK.grpcPort(FIRST + 1));
        String outsiderId = cellId(channel(NETWORK.grpcPort(OUTSIDER)));

        // ---- a log feed with entries of every size, up to the 1 MiB limit (sent in pieces), followed live -------
        String log = feeds(owner).createFeed(CreateFeedRequest.newBuilder().setName("events").build()).getFeed().getFeedKey();
        Random random = new Random(11);
        List<byte[]> written = new ArrayList<>();
        for (int batch = 0; batch < 6; batch++) {
            AppendRequest.Builder a = AppendRequest.newBuilder().setFeedKey(log);
            for (int i = 0; i < 50; i++) {
                byte[] e = new byte[batch == 3 && i == 7 ? 1 << 20 : random.nextInt(batch == 5 ? 20_000 : 300)];
                random.nextBytes(e);
                written.add(e);
                a.addEntries(ByteString.copyFrom(e));
            }
            feeds(owner).append(a.build());
        }
        long t0 = System.nanoTime();
        FeedInfo followed = feeds(replica).followFeed(FollowFeedRequest.newBuilder().setFeedKey(log).setLive(true)
                .addSourceCellIds(ownerId).build()).getFeed();
        assertThat(followed.getWritable()).isFalse();
        assertThat(followed.getOwnerCellId()).isEqualTo(ownerId);
        assertThat(followed.getName()).isEqualTo("events");
        await("the replica has every entry", 120, () -> info(replica, log).getReplication().getDownloadedEntries() == written.size());
        System.out.printf("data replication: %d entries (%d bytes) verified and stored on the replica in %.1f s%n", written.size(),
                written.stream().mapToLong(e -> e.length).sum(), (System.nanoTime() - t0) / 1e9);
        assertThat(range(replica, log, true)).as("byte-identical").containsExactlyElementsOf(written);
        assertThat(feeds(replica).getSignedRoot(GetSignedRootRequest.newBuilder().setFeedKey(log).build()))
                .isEqualTo(feeds(owner).getSignedRoot(GetSignedRootRequest.newBuilder().setFeedKey(log).build()));
        FeedInfo state = info(replica, log);
        assertThat(state.getReplication().getSourceCellIdsList()).containsExactly(ownerId);
        assertThat(state.getReplication().getRejected()).isZero();

        // the live tail on the replica: entries appended on the owner arrive, verified, with their signed root
        BlockingQueue<SubscribeResponse> tail = new LinkedBlockingQueue<>();
        io.grpc.Context.CancellableContext tailing = io.grpc.Context.current().withCancellation();
        tailing.run(() -> FeedServiceGrpc.newStub(replica).subscribe(SubscribeRequest.newBuilder().setFeedKey(log)
                .setFromIndex(written.size()).build(), QueueObserver.into(tail)));
        try {
            for (int i = 0; i < 20; i++) {
                byte[] e = ("live " + i).getBytes();
                written.add(e);
                feeds(owner).append(AppendRequest.newBuilder().setFeedKey(log).addEntries(ByteString.copyFrom(e)).build());
            }
            for (int i = written.size() - 20; i < written.size(); i++) {
                SubscribeResponse m = tail.poll(30, TimeUnit.SECONDS);
                assertThat(m).as("live entry %d on the replica", i).isNotNull();
                assertThat(m.getEntry().getIndex()).isEqualTo(i);
                assertThat(m.getEntry().getData().toByteArray()).isEqualTo(written.get(i));
                if (m.hasSignedRoot()) {
                    assertSignedBy(log, m.getSignedRoot());
                    assertThat(m.getSignedRoot().getLength()).isGreaterThan(i);
                }
            }
        } finally {
            tailing.cancel(null);
        }
        assertThat(range(replica, log, true)).containsExactlyElementsOf(written);

        // ---- a key-value feed: the view reads the same on the replica ----------------------------------------
        String kv = feeds(owner).createFeed(CreateFeedRequest.newBuilder().setName("config").setType(FeedType.FEED_TYPE_KEY_VALUE)
                .build()).getFeed().getFeedKey();
        for (int i = 0; i < 30; i++) {
            feeds(owner).putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("k" + (i % 7))
                    .setValue(ByteString.copyFromUtf8("v" + i)).build());
        }
        feeds(replica).followFeed(FollowFeedRequest.newBuilder().setFeedKey(kv).build()); // found among data-service cells
        await("the key-value replica is whole", 60, () -> info(replica, kv).getReplication().getDownloadedEntries() == 30);
        for (int k = 0; k < 7; k++) {
            for (long version : List.of(10L, 30L)) {
                GetValueRequest get = GetValueRequest.newBuilder().setFeedKey(kv).setKey("k" + k).setVersion(version).build();
                assertThat(feeds(replica).getValue(get)).isEqualTo(feeds(owner).getValue(get));
            }
        }

        // ---- sparse: only [100, 120) is downloaded; another entry is fetched (verified) when read ---------------
        String sparse = feeds(owner).createFeed(CreateFeedRequest.newBuilder().setName("sparse").build()).getFeed().getFeedKey();
        List<byte[]> sparseEntries = new ArrayList<>();
        AppendRequest.Builder s = AppendRequest.newBuilder().setFeedKey(sparse);
        for (int i = 0; i < 500; i++) {
            byte[] e = ("entry " + i).getBytes();
            sparseEntries.add(e);
            s.addEntries(ByteString.copyFrom(e));
        }
        feeds(owner).append(s.build());
        feeds(replica).followFeed(FollowFeedRequest.newBuilder().setFeedKey(sparse)
                .addRanges(IndexRange.newBuilder().setStart(100).setEnd(120)).addSourceCellIds(ownerId).build());
        await("the chosen range", 60, () -> info(replica, sparse).getReplication().getDownloadedEntries() == 20);
        Thread.sleep(1500); // three more passes: nothing beyond the range comes
        assertThat(info(replica, sparse).getReplication().getDownloadedEntries()).isEqualTo(20);
        assertThat(info(replica, sparse).getLength()).isEqualTo(500);
        assertStatus(() -> feeds(replica).getEntry(GetEntryRequest.newBuilder().setFeedKey(sparse).setIndex(400).setLocalOnly(true)
                .build()), Status.Code.NOT_FOUND);
        assertThat(feeds(replica).getEntry(GetEntryRequest.newBuilder().setFeedKey(sparse).setIndex(400).build()).getEntry()
                .getData().toByteArray()).isEqualTo(sparseEntries.get(400));
        assertThat(info(replica, sparse).getReplication().getDownloadedEntries()).isEqualTo(21);

        // ---- the outsider: this test answers the data topic on a third cell, with feeds it signs itself ---------
        outsider = new PeerNetwork<>("127.0.0.1:" + NETWORK.grpcPort(OUTSIDER), Duration.ofSeconds(10), "data", "data-service",
                FeedPeerRequest.parser(), FeedPeerResponse.parser());
        Map<String, TestFeed> served = new HashMap<>();
        outsider.serve((source, r) -> served.get(switch (r.getKindCase()) {
            case HEAD -> r.getHead().getFeedKey();
            case FETCH -> r.getFetch().getFeedKey();
            default -> r.getConsistency().getFeedKey();
        }).answer(r), workers, retries, Duration.ofSeconds(1));
        await("the outsider serves", 30, outsider::serving);

        // an honest feed from the outsider replicates: the protocol is the documented one, not an accident
        TestFeed forking = new TestFeed(12, 21);
        served.put(forking.key, forking);
        forking.length = 10;
        feeds(replica).followFeed(FollowFeedRequest.newBuilder().setFeedKey(forking.key).setLive(true)
                .addSourceCellIds(outsiderId).build());
        await("10 entries from the outsider", 60, () -> info(replica, forking.key).getReplication().getDownloadedEntries() == 10);
        assertThat(range(replica, forking.key, true)).containsExactlyElementsOf(forking.entries.subList(0, 10));

        // the key signs a second history (entry 3 rewritten) and announces 12: the replica sees the fork
        forking.rewrite(3);
        forking.length = 12;
        await("the fork is detected", 60, () -> info(replica, forking.key).getForked());
        FeedInfo fork = info(replica, forking.key);
        assertThat(fork.getReplication().getFollowing()).as("a forked feed is followed no further").isFalse();
        assertThat(fork.getForkEvidenceList()).hasSize(2);
        fork.getForkEvidenceList().forEach(e -> assertSignedBy(forking.key, e));
        assertThat(fork.getForkEvidenceList()).extracting(SignedRoot::getLength).containsExactly(10L, 12L);
        assertThat(fork.getLength()).as("the held history stays").isEqualTo(10);
        assertThat(range(replica, forking.key, true)).containsExactlyElementsOf(forking.original.subList(0, 10));

        // ---- a head naming the feed with what is not a feed name: refused and reported, nothing created ---------
        TestFeed misnamed = new TestFeed(14, 3);
        misnamed.name = "x".repeat(300);
        served.put(misnamed.key, misnamed);
        assertStatus(() -> feeds(replica).followFeed(FollowFeedRequest.newBuilder().setFeedKey(misnamed.key)
                .addSourceCellIds(outsiderId).build()), Status.Code.NOT_FOUND);
        assertStatus(() -> info(replica, misnamed.key), Status.Code.NOT_FOUND);
        await("the outsider is reported", 30, () -> blacklisted(replicaNetwork, outsiderId));
        NetworkServiceGrpc.newBlockingStub(replicaNetwork).unblacklistPeer(UnblacklistPeerRequest.newBuilder()
                .setCellId(outsiderId).build());

        // ---- a peer serving a tampered entry is rejected and reported, and nothing it sent is stored -------------
        TestFeed tampered = new TestFeed(13, 40);
        tampered.tamper = 7;
        served.put(tampered.key, tampered);
        await("the outsider is reachable again", 60, () -> feeds(replica).followFeed(FollowFeedRequest.newBuilder()
                .setFeedKey(tampered.key).addSourceCellIds(outsiderId).build()).hasFeed());
        await("the tampering is rejected", 60, () -> info(replica, tampered.key).getReplication().getRejected() >= 1);
        await("the outsider is reported again", 30, () -> blacklisted(replicaNetwork, outsiderId));
        assertThat(info(replica, tampered.key).getReplication().getDownloadedEntries()).isZero();
        assertStatus(() -> feeds(replica).getEntry(GetEntryRequest.newBuilder().setFeedKey(tampered.key).setIndex(0)
                .setLocalOnly(true).build()), Status.Code.NOT_FOUND);
    }

    static boolean blacklisted(ManagedChannel network, String cellId) {
        return NetworkServiceGrpc.newBlockingStub(network).listBlacklist(ListBlacklistRequest.getDefaultInstance())
                .getEntriesList().stream().anyMatch(b -> b.getCellId().equals(cellId));
    }

    static void assertStatus(Runnable call, Status.Code code) {
        try {
            call.run();
            throw new AssertionError("expected " + code);
        } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
        }
    }

    /**
     * A feed this test signs with a key of its own and serves as the peer protocol says: its head at {@code length},
     * entries with range proofs, consistency proofs. It can rewrite an entry (the key signs a second history: a
     * fork) or tamper with one in what it sends (the signatures stay valid, the entry does not).
     */
    static final class TestFeed {
        final Ed25519.SigningKey signer;
        final byte[] publicKey;
        final String key;
        final List<byte[]> original;
        volatile List<byte[]> entries;
        volatile Map<Long, Node> nodes;
        volatile long length;
        volatile int tamper = -1;
        volatile String name = "outsider";

        TestFeed(long seed, int n) {
            byte[] secret = Ed25519.newPrivateSeed(new java.security.SecureRandom());
            this.signer = Ed25519.signingKey(secret);
            this.publicKey = Ed25519.publicKey(secret);
            this.key = HEX.formatHex(publicKey);
            Random r = new Random(seed);
            List<byte[]> es = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] e = new byte[1 + r.nextInt(200)];
                r.nextBytes(e);
                es.add(e);
            }
            this.original = List.copyOf(es);
            this.entries = original;
            this.nodes = build(entries);
            this.length = n;
        }

        void rewrite(int index) {
            List<byte[]> es = new ArrayList<>(entries);
            byte[] e = es.get(index).clone();
            e[0] ^= 1;
            es.set(index, e);
            entries = es;
            nodes = build(es);
        }

        static Map<Long, Node> build(List<byte[]> entries) {
            Map<Long, Node> out = new HashMap<>();
            List<Node> level = new ArrayList<>();
            for (int i = 0; i < entries.size(); i++) {
                Node leaf = TreeHash.leaf(i, entries.get(i));
                out.put(leaf.index(), leaf);
                level.add(leaf);
            }
            while (level.size() > 1) {
                List<Node> up = new ArrayList<>();
                for (int i = 0; i + 1 < level.size(); i += 2) {
                    Node p = TreeHash.parent(level.get(i), level.get(i + 1));
                    out.put(p.index(), p);
                    up.add(p);
                }
                level = up;
            }
            return out;
        }

        SignedRoot signed(long at) {
            List<Node> roots = FlatTree.roots(at).stream().map(nodes::get).toList();
            byte[] hash = TreeHash.rootHash(roots);
            long bytes = Proofs.byteLength(roots);
            return SignedRoot.newBuilder().setFeedKey(key).setLength(at).setByteLength(bytes).setRoot(HEX.formatHex(hash))
                    .setSignature(ByteString.copyFrom(SignedRoots.sign(signer, publicKey, at, bytes, hash))).build();
        }

        static TreeNode node(Node n) {
            return TreeNode.newBuilder().setIndex(n.index()).setHash(HEX.formatHex(n.hash())).setSizeBytes(n.size()).build();
        }

        FeedPeerResponse answer(FeedPeerRequest r) {
            FeedPeerResponse.Builder out = FeedPeerResponse.newBuilder();
            switch (r.getKindCase()) {
                case HEAD -> out.setHead(PeerHeadState.newBuilder().setName(name).setType(FeedType.FEED_TYPE_LOG)
                        .setSignedRoot(signed(length)));
                case FETCH -> {
                    PeerFetch f = r.getFetch();
                    long end = Math.min(f.getEnd(), f.getStart() + 16);
                    PeerEntries.Builder e = PeerEntries.newBuilder().setSignedRoot(signed(f.getLength()));
                    for (long i = f.getStart(); i < end; i++) {
                        byte[] data = entries.get((int) i);
                        if (i == tamper) {
                            data = data.clone();
                            data[data.length / 2] ^= 0x10;
                        }
                        e.addEntries(Entry.newBuilder().setIndex(i).setData(ByteString.copyFrom(data)));
                    }
                    Proofs.rangeIndexes(f.getStart(), end, f.getLength()).forEach(i -> e.addNodes(node(nodes.get(i))));
                    out.setEntries(e);
                }
                default -> {
                    long from = r.getConsistency().getFromLength();
                    long to = r.getConsistency().getToLength();
                    PeerConsistencyNodes.Builder c = PeerConsistencyNodes.newBuilder().setToRoot(signed(to));
                    Proofs.consistencyIndexes(from, to).forEach(i -> c.addNodes(node(nodes.get(i))));
                    out.setConsistency(c);
                }
            }
            return out.build();
        }
    }
}
