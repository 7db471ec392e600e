package io.celluler.data.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.data.DataServiceApplication;
import io.celluler.data.tree.Proofs;
import io.celluler.data.tree.SignedRoots;
import io.celluler.data.tree.TreeHash;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.AppendResponse;
import io.celluler.proto.data.v1.ConsistencyProof;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.FeedInfo;
import io.celluler.proto.data.v1.FeedServiceGrpc;
import io.celluler.proto.data.v1.FeedType;
import io.celluler.proto.data.v1.GetConsistencyProofRequest;
import io.celluler.proto.data.v1.GetEntryRequest;
import io.celluler.proto.data.v1.GetEntryResponse;
import io.celluler.proto.data.v1.GetFeedRequest;
import io.celluler.proto.data.v1.GetInclusionProofRequest;
import io.celluler.proto.data.v1.GetRangeRequest;
import io.celluler.proto.data.v1.GetSignedRootRequest;
import io.celluler.proto.data.v1.GetValueRequest;
import io.celluler.proto.data.v1.InclusionProof;
import io.celluler.proto.data.v1.ListFeedsRequest;
import io.celluler.proto.data.v1.ListFeedsResponse;
import io.celluler.proto.data.v1.SignedRoot;
import io.celluler.proto.data.v1.TreeNode;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * data-service's log feeds over real gRPC on loopback, on the embedded default (H2 file); {@link FeedPostgresIT}
 * runs every scenario again on PostgreSQL. Every proof the service gives is checked here the way a client would:
 * the nodes recomputed to the signed root, the signature against the feed's own key.
 */
class FeedGrpcIT {

    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext context;
    private ManagedChannel channel;
    private static final HexFormat HEX = HexFormat.of();

    protected List<String> extraArgs() {
        return List.of();
    }

    protected void start() {
        List<String> args = new ArrayList<>(List.of("--celluler.data-dir=" + dataDir, "--server.port=0",
                "--server.address=127.0.0.1", "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1"));
        args.addAll(extraArgs());
        context = CellulerApplication.builder(DataServiceApplication.class, DataServiceApplication.NAME).run(args.toArray(String[]::new));
        int port = context.getBean(GrpcServerLifecycle.class).getPort();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(32 << 20).build();
    }

    protected void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            channel = null;
        }
        if (context != null) {
            context.close();
            context = null;
        }
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        stop();
    }

    FeedServiceGrpc.FeedServiceBlockingStub feeds() {
        return FeedServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static List<byte[]> entries(int n, int size, long seed) {
        Random r = new Random(seed);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] e = new byte[size];
            r.nextBytes(e);
            out.add(e);
        }
        return out;
    }

    AppendResponse append(String key, List<byte[]> entries) {
        return feeds().append(AppendRequest.newBuilder().setFeedKey(key)
                .addAllEntries(entries.stream().map(ByteString::copyFrom).toList()).build());
    }

    static Node node(TreeNode n) {
        return new Node(n.getIndex(), HEX.parseHex(n.getHash()), n.getSizeBytes());
    }

    /** A signed root checked as a client checks it: the signature by the feed's own key. */
    static void assertSignedBy(String key, SignedRoot s) {
        assertThat(s.getFeedKey()).isEqualTo(key);
        assertThat(SignedRoots.verify(HEX.parseHex(key), s.getLength(), s.getByteLength(), HEX.parseHex(s.getRoot()),
                s.getSignature().toByteArray())).as("signature of the root at length %d", s.getLength()).isTrue();
    }

    /** An inclusion proof checked as a client checks it. */
    static void assertProves(String key, InclusionProof p, byte[] data) throws Proofs.ProofException {
        assertSignedBy(key, p.getSignedRoot());
        List<Node> roots = Proofs.rootsFromInclusion(p.getIndex(), data, p.getSignedRoot().getLength(),
                p.getNodesList().stream().map(FeedGrpcIT::node).toList());
        assertThat(HEX.formatHex(TreeHash.rootHash(roots))).isEqualTo(p.getSignedRoot().getRoot());
        assertThat(Proofs.byteLength(roots)).isEqualTo(p.getSignedRoot().getByteLength());
    }

    static void assertConsistent(String key, ConsistencyProof p) throws Proofs.ProofException {
        assertSignedBy(key, p.getFromRoot());
        assertSignedBy(key, p.getToRoot());
        Proofs.verifyConsistency(p.getFromRoot().getLength(), p.getToRoot().getLength(),
                p.getNodesList().stream().map(FeedGrpcIT::node).toList(), HEX.parseHex(p.getFromRoot().getRoot()),
                HEX.parseHex(p.getToRoot().getRoot()));
    }

    static void assertStatus(Runnable call, Status.Code code, String inDescription) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(inDescription);
        });
    }

    @Test
    void entriesAreAppendedSignedReadAndProved() throws Exception {
        start();
        FeedInfo feed = feeds().createFeed(CreateFeedRequest.newBuilder().setName("sensor-log").putLabels("site", "north")
                .build()).getFeed();
        String key = feed.getFeedKey();
        assertThat(key).hasSize(64);
        assertThat(feed.getWritable()).isTrue();
        assertThat(feed.getType()).isEqualTo(FeedType.FEED_TYPE_LOG);
        assertThat(feed.getLength()).isZero();
        assertSignedBy(key, feed.getSignedRoot());

        List<byte[]> all = new ArrayList<>(entries(1, 100, 1));
        AppendResponse one = append(key, all);
        assertThat(one.getFirstIndex()).isZero();
        assertThat(one.getLength()).isEqualTo(1);
        assertSignedBy(key, one.getSignedRoot());
        List<byte[]> batch = entries(12, 512, 2);
        AppendResponse many = append(key, batch);
        all.addAll(batch);
        assertThat(many.getFirstIndex()).isEqualTo(1);
        assertThat(many.getLength()).isEqualTo(13);
        assertThat(many.getSignedRoot().getByteLength()).isEqualTo(100 + 12 * 512);

        FeedInfo after = feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed();
        assertThat(after.getLength()).isEqualTo(13);
        assertThat(after.getLabelsMap()).containsEntry("site", "north");
        assertThat(after.getSignedRoot()).isEqualTo(many.getSignedRoot());

        for (int i = 0; i < all.size(); i++) {
            GetEntryResponse e = feeds().getEntry(GetEntryRequest.newBuilder().setFeedKey(key).setIndex(i).setIncludeProof(true).build());
            assertThat(e.getEntry().getData().toByteArray()).isEqualTo(all.get(i));
            assertProves(key, e.getProof(), all.get(i));
        }
        List<byte[]> range = new ArrayList<>();
        feeds().getRange(GetRangeRequest.newBuilder().setFeedKey(key).setStart(2).build())
                .forEachRemaining(r -> range.add(r.getEntry().getData().toByteArray()));
        assertThat(range).containsExactlyElementsOf(all.subList(2, 13));
        // against an older length, one inside the batch (the owner signs that tree when asked)
        InclusionProof old = feeds().getInclusionProof(GetInclusionProofRequest.newBuilder().setFeedKey(key).setIndex(3)
                .setLength(7).build()).getProof();
        assertThat(old.getSignedRoot().getLength()).isEqualTo(7);
        assertProves(key, old, all.get(3));
        for (long from = 1; from <= 13; from++) {
            assertConsistent(key, feeds().getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFeedKey(key)
                    .setFromLength(from).build()).getProof());
        }
        SignedRoot at1 = feeds().getSignedRoot(GetSignedRootRequest.newBuilder().setFeedKey(key).setLength(1).build()).getSignedRoot();
        assertThat(at1).isEqualTo(one.getSignedRoot());
        // a proof of one entry does not prove another's bytes
        InclusionProof p0 = feeds().getInclusionProof(GetInclusionProofRequest.newBuilder().setFeedKey(key).setIndex(0).build()).getProof();
        List<Node> roots = Proofs.rootsFromInclusion(0, all.get(1), 13, p0.getNodesList().stream().map(FeedGrpcIT::node).toList());
        assertThat(HEX.formatHex(TreeHash.rootHash(roots))).isNotEqualTo(p0.getSignedRoot().getRoot());
    }

    @Test
    void feedsAreListedInPagesAndSurviveARestart() throws Exception {
        start();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            keys.add(feeds().createFeed(CreateFeedRequest.newBuilder().setName("feed-" + i).build()).getFeed().getFeedKey());
        }
        String key = keys.get(2);
        List<byte[]> all = entries(40, 64, 3);
        append(key, all.subList(0, 30));
        SignedRoot before = append(key, all.subList(30, 40)).getSignedRoot();
        List<String> listed = new ArrayList<>();
        String token = "";
        for (int round = 0; round < 10; round++) {
            ListFeedsResponse page = feeds().listFeeds(ListFeedsRequest.newBuilder().setPageSize(2).setPageToken(token).build());
            page.getFeedsList().forEach(f -> listed.add(f.getFeedKey()));
            token = page.getNextPageToken();
            if (token.isEmpty()) {
                break;
            }
        }
        assertThat(listed).containsExactlyElementsOf(keys.stream().sorted().toList());

        stop();
        start();
        FeedInfo again = feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed();
        assertThat(again.getLength()).isEqualTo(40);
        assertThat(again.getSignedRoot()).isEqualTo(before);
        List<byte[]> read = new ArrayList<>();
        feeds().getRange(GetRangeRequest.newBuilder().setFeedKey(key).build()).forEachRemaining(r -> read.add(r.getEntry().getData().toByteArray()));
        assertThat(read).containsExactlyElementsOf(all);
        // the feed goes on where it stopped, and its new tree extends the old one
        AppendResponse more = append(key, entries(3, 10, 4));
        assertThat(more.getFirstIndex()).isEqualTo(40);
        assertConsistent(key, feeds().getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFeedKey(key)
                .setFromLength(40).build()).getProof());
    }

    @Test
    void concurrentAppendsGetDistinctPlacesInOneTree() throws Exception {
        start();
        String key = feeds().createFeed(CreateFeedRequest.newBuilder().setName("busy").build()).getFeed().getFeedKey();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Long>> firsts = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int n = i;
                firsts.add(pool.submit(() -> append(key, entries(1 + n % 3, 32, n)).getFirstIndex()));
            }
            List<Long> starts = new ArrayList<>();
            for (Future<Long> f : firsts) {
                starts.add(f.get(60, TimeUnit.SECONDS));
            }
            assertThat(starts).doesNotHaveDuplicates();
        } finally {
            pool.shutdownNow();
        }
        FeedInfo f = feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed();
        assertThat(f.getLength()).isEqualTo(79); // 40 batches: 14 of 1 entry, 13 of 2, 13 of 3
        for (long from = 1; from <= 79; from += 7) {
            assertConsistent(key, feeds().getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFeedKey(key)
                    .setFromLength(from).build()).getProof());
        }
    }

    @Test
    void badInputGetsAClearErrorAndWritesNothing() {
        start();
        String key = feeds().createFeed(CreateFeedRequest.newBuilder().setName("strict").build()).getFeed().getFeedKey();
        append(key, entries(2, 8, 5));
        String unknown = "ab".repeat(32);
        assertStatus(() -> feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(unknown).build()), Status.Code.NOT_FOUND, unknown);
        assertStatus(() -> feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey("ABC").build()), Status.Code.INVALID_ARGUMENT, "feed_key");
        assertStatus(() -> append(unknown, entries(1, 8, 6)), Status.Code.NOT_FOUND, unknown);
        assertStatus(() -> feeds().getEntry(GetEntryRequest.newBuilder().setFeedKey(key).setIndex(2).build()),
                Status.Code.OUT_OF_RANGE, "index");
        assertStatus(() -> feeds().getInclusionProof(GetInclusionProofRequest.newBuilder().setFeedKey(key).setIndex(0)
                .setLength(3).build()), Status.Code.OUT_OF_RANGE, "length");
        assertStatus(() -> feeds().getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFeedKey(key).build()),
                Status.Code.INVALID_ARGUMENT, "from_length");
        assertStatus(() -> feeds().getRange(GetRangeRequest.newBuilder().setFeedKey(key).setStart(1).setEnd(5).build()).hasNext(),
                Status.Code.OUT_OF_RANGE, "start, end");
        // an oversized entry in a batch: the whole batch is refused, nothing is written
        List<byte[]> withHuge = new ArrayList<>(entries(1, 8, 7));
        withHuge.add(new byte[(1 << 20) + 1]);
        assertStatus(() -> append(key, withHuge), Status.Code.RESOURCE_EXHAUSTED, "entries[1]");
        assertStatus(() -> append(key, entries(1025, 1, 8)), Status.Code.RESOURCE_EXHAUSTED, "1024");
        assertStatus(() -> append(key, List.of()), Status.Code.INVALID_ARGUMENT, "entries");
        assertThat(feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(key).build()).getFeed().getLength()).isEqualTo(2);
        assertStatus(() -> feeds().createFeed(CreateFeedRequest.newBuilder().setName("Bad Name").build()),
                Status.Code.INVALID_ARGUMENT, "name");
        assertStatus(() -> feeds().createFeed(CreateFeedRequest.newBuilder().setName("strict").build()),
                Status.Code.ALREADY_EXISTS, "strict");
        String kv = feeds().createFeed(CreateFeedRequest.newBuilder().setName("kv").setType(FeedType.FEED_TYPE_KEY_VALUE).build())
                .getFeed().getFeedKey();
        assertStatus(() -> append(kv, entries(1, 8, 9)), Status.Code.FAILED_PRECONDITION, "PutValue");
        // what is not built yet says so
        assertThatThrownBy(() -> feeds().getValue(GetValueRequest.newBuilder().setFeedKey(kv).setKey("a").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    }
}
