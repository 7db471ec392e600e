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
import io.celluler.core.test.RunningService;
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
import io.celluler.proto.data.v1.DeleteValueRequest;
import io.celluler.proto.data.v1.DiffVersionsRequest;
import io.celluler.proto.data.v1.FollowFeedRequest;
import io.celluler.proto.data.v1.IndexRange;
import io.celluler.proto.data.v1.SubscribeRequest;
import io.celluler.proto.data.v1.SubscribeResponse;
import io.celluler.proto.data.v1.GetKeyHistoryRequest;
import io.celluler.proto.data.v1.GetKeyHistoryResponse;
import io.celluler.proto.data.v1.GetValueRequest;
import io.celluler.proto.data.v1.KeyChange;
import io.celluler.proto.data.v1.PutValueRequest;
import io.celluler.proto.data.v1.ScanKeysRequest;
import io.celluler.proto.data.v1.InclusionProof;
import io.celluler.proto.data.v1.ListFeedsRequest;
import io.celluler.proto.data.v1.ListFeedsResponse;
import io.celluler.proto.data.v1.SignedRoot;
import io.celluler.proto.data.v1.TreeNode;
import io.celluler.core.test.QueueObserver;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * data-service's log feeds over real gRPC on loopback, on the embedded default (H2 file); {@link FeedPostgresIT}
 * runs every scenario again on PostgreSQL. Every proof the service gives is checked here the way a client would:
 * the nodes recomputed to the signed root, the signature against the feed's own key.
 */
class FeedGrpcIT {

    @TempDir
    Path dataDir;

    private RunningService service;
    private ManagedChannel channel;
    private static final HexFormat HEX = HexFormat.of();

    protected List<String> extraArgs() {
        return List.of();
    }

    protected void start() {
        service = RunningService.start(DataServiceApplication.class, DataServiceApplication.NAME, dataDir, extraArgs(),
                32 << 20);
        channel = service.channel();
    }

    protected void stop() throws InterruptedException {
        if (service != null) {
            service.close();
            service = null;
            channel = null;
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
        assertStatus(() -> feeds().createFeed(CreateFeedRequest.newBuilder().setName(kv).build()), Status.Code.INVALID_ARGUMENT,
                "reserved");
        // following: bad ranges and cells are named; a cell without network-service says it works alone
        String other = "ab".repeat(32);
        assertStatus(() -> feeds().followFeed(FollowFeedRequest.newBuilder().setFeedKey(other)
                .addRanges(IndexRange.newBuilder().setStart(5).setEnd(5)).build()), Status.Code.INVALID_ARGUMENT, "ranges[0]");
        assertStatus(() -> feeds().followFeed(FollowFeedRequest.newBuilder().setFeedKey(other).addSourceCellIds("cell-1").build()),
                Status.Code.INVALID_ARGUMENT, "source_cell_ids[0]");
        assertStatus(() -> feeds().followFeed(FollowFeedRequest.newBuilder().setFeedKey("x").build()), Status.Code.INVALID_ARGUMENT,
                "feed_key");
        assertStatus(() -> feeds().followFeed(FollowFeedRequest.newBuilder().setFeedKey(other).build()),
                Status.Code.FAILED_PRECONDITION, "alone");
        assertStatus(() -> feeds().subscribe(SubscribeRequest.newBuilder().setFeedKey(other).build()).hasNext(),
                Status.Code.NOT_FOUND, other);
        assertThat(feeds().listFeeds(ListFeedsRequest.getDefaultInstance()).getFeedsList()).extracting(FeedInfo::getName)
                .containsExactlyInAnyOrder("strict", "kv");
    }

    /**
     * The live tail: a subscriber from index 2 gets the stored entries from there, then each new append as it commits
     * (batches too), with the signed root that covers them whenever it changed; a second subscriber from a future
     * index waits for it. Nothing of either is lost or sent twice.
     */
    @Test
    void subscribersGetStoredEntriesThenNewAppendsLive() throws Exception {
        start();
        String key = feeds().createFeed(CreateFeedRequest.newBuilder().setName("tail").build()).getFeed().getFeedKey();
        List<byte[]> all = entries(40, 100, 7);
        append(key, all.subList(0, 5));
        java.util.concurrent.BlockingQueue<SubscribeResponse> got = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.concurrent.BlockingQueue<SubscribeResponse> later = new java.util.concurrent.LinkedBlockingQueue<>();
        io.grpc.Context.CancellableContext tail = io.grpc.Context.current().withCancellation();
        tail.run(() -> {
            FeedServiceGrpc.newStub(channel).subscribe(SubscribeRequest.newBuilder().setFeedKey(key).setFromIndex(2).build(),
                    QueueObserver.into(got));
            FeedServiceGrpc.newStub(channel).subscribe(SubscribeRequest.newBuilder().setFeedKey(key).setFromIndex(30).build(),
                    QueueObserver.into(later));
        });
        try {
            for (int i = 2; i < 5; i++) {
                SubscribeResponse m = got.poll(30, TimeUnit.SECONDS);
                assertThat(m).as("stored entry %d", i).isNotNull();
                assertThat(m.getEntry().getIndex()).isEqualTo(i);
                assertThat(m.getEntry().getData().toByteArray()).isEqualTo(all.get(i));
                if (i == 2) {
                    assertSignedBy(key, m.getSignedRoot());
                    assertThat(m.getSignedRoot().getLength()).isEqualTo(5);
                }
            }
            for (int from = 5; from < all.size(); from += 7) {
                int to = Math.min(all.size(), from + 7);
                append(key, all.subList(from, to));
                for (int i = from; i < to; i++) {
                    SubscribeResponse m = got.poll(30, TimeUnit.SECONDS);
                    assertThat(m).as("live entry %d", i).isNotNull();
                    assertThat(m.getEntry().getIndex()).isEqualTo(i);
                    assertThat(m.getEntry().getData().toByteArray()).isEqualTo(all.get(i));
                    if (m.hasSignedRoot()) {
                        assertSignedBy(key, m.getSignedRoot());
                        assertThat(m.getSignedRoot().getLength()).isGreaterThan(i);
                    }
                }
            }
            for (int i = 30; i < all.size(); i++) {
                SubscribeResponse m = later.poll(30, TimeUnit.SECONDS);
                assertThat(m).as("entry %d of the second tail", i).isNotNull();
                assertThat(m.getEntry().getIndex()).isEqualTo(i);
                assertThat(m.getEntry().getData().toByteArray()).isEqualTo(all.get(i));
                if (i == 30 || m.hasSignedRoot()) { // the first entry comes with the root that covers it
                    assertSignedBy(key, m.getSignedRoot());
                    assertThat(m.getSignedRoot().getLength()).isGreaterThan(i);
                }
            }
            assertThat(got.poll(300, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
            assertThat(later).isEmpty();
        } finally {
            tail.cancel(null);
        }
    }

    /** UTF-8 byte order, the view's key order. */
    static final java.util.Comparator<String> BYTE_ORDER = (a, b) -> java.util.Arrays.compareUnsigned(
            a.getBytes(java.nio.charset.StandardCharsets.UTF_8), b.getBytes(java.nio.charset.StandardCharsets.UTF_8));

    /**
     * The key-value view against a model: 240 random puts and deletes over keys that sort differently as UTF-16 and
     * as bytes; then get, scan (prefix, bounds, reverse, limit), diff and history at many versions, each compared with
     * what the model held at that version.
     */
    @Test
    void theKeyValueViewAgreesWithAModelAtEveryVersion() {
        start();
        String key = feeds().createFeed(CreateFeedRequest.newBuilder().setName("kv-model").setType(FeedType.FEED_TYPE_KEY_VALUE)
                .build()).getFeed().getFeedKey();
        List<String> keys = List.of("a", "ab", "b", "b/1", "b/2", "b/10", "c", "\uFF61x", "\uD83D\uDE00", "é", "zz");
        Random r = new Random(42);
        List<java.util.TreeMap<String, byte[]>> states = new ArrayList<>(); // index: version
        java.util.Map<String, List<long[]>> history = new java.util.HashMap<>(); // version, deleted(0/1)
        java.util.TreeMap<String, byte[]> state = new java.util.TreeMap<>(BYTE_ORDER);
        states.add(new java.util.TreeMap<>(state));
        for (int op = 0; op < 240; op++) {
            String k = keys.get(r.nextInt(keys.size()));
            long version;
            boolean deleted = state.containsKey(k) && r.nextInt(10) < 3;
            if (deleted) {
                version = feeds().deleteValue(DeleteValueRequest.newBuilder().setFeedKey(key).setKey(k).build()).getVersion();
                state.remove(k);
            } else {
                byte[] v = new byte[r.nextInt(20)];
                r.nextBytes(v);
                version = feeds().putValue(PutValueRequest.newBuilder().setFeedKey(key).setKey(k).setValue(ByteString.copyFrom(v))
                        .build()).getVersion();
                state.put(k, v);
            }
            assertThat(version).isEqualTo(states.size());
            states.add(new java.util.TreeMap<>(state));
            history.computeIfAbsent(k, x -> new ArrayList<>()).add(new long[] {version, deleted ? 1 : 0});
        }
        for (int version = 0; version < states.size(); version += 17) {
            java.util.TreeMap<String, byte[]> at = states.get(version);
            for (String k : keys) {
                long v = version;
                if (at.containsKey(k)) {
                    assertThat(feeds().getValue(GetValueRequest.newBuilder().setFeedKey(key).setKey(k).setVersion(Math.max(v, 1)).build())
                            .getEntry().getValue().toByteArray()).as("%s at %d", k, v).isEqualTo(at.get(k));
                } else if (version > 0) {
                    assertStatus(() -> feeds().getValue(GetValueRequest.newBuilder().setFeedKey(key).setKey(k).setVersion(v).build()),
                            Status.Code.NOT_FOUND, k);
                }
            }
            if (version == 0) {
                continue;
            }
            assertThat(scan(key, version, "", "", "", false, 0)).as("scan at %d", version).containsExactlyElementsOf(at.keySet());
            assertThat(scan(key, version, "b/", "", "", false, 0)).containsExactlyElementsOf(
                    at.keySet().stream().filter(k -> k.startsWith("b/")).toList());
            assertThat(scan(key, version, "", "ab", "c", true, 0)).containsExactlyElementsOf(
                    at.descendingKeySet().stream().filter(k -> BYTE_ORDER.compare(k, "ab") >= 0 && BYTE_ORDER.compare(k, "c") < 0).toList());
            assertThat(scan(key, version, "", "", "", false, 3)).containsExactlyElementsOf(at.keySet().stream().limit(3).toList());
            for (int from = 0; from <= version; from += 29) {
                java.util.TreeMap<String, byte[]> before = states.get(from);
                List<String> expected = new ArrayList<>();
                java.util.TreeSet<String> all = new java.util.TreeSet<>(BYTE_ORDER);
                all.addAll(before.keySet());
                all.addAll(at.keySet());
                for (String k : all) {
                    if (!java.util.Arrays.equals(before.get(k), at.get(k))) {
                        expected.add(k + (at.containsKey(k) ? "" : " (deleted)"));
                    }
                }
                List<String> diff = new ArrayList<>();
                feeds().diffVersions(DiffVersionsRequest.newBuilder().setFeedKey(key).setFromVersion(from).setToVersion(version).build())
                        .forEachRemaining(d -> {
                            diff.add(d.getChange().getKey() + (d.getChange().getDeleted() ? " (deleted)" : ""));
                            assertThat(d.getPreviousValue().toByteArray()).isEqualTo(
                                    before.getOrDefault(d.getChange().getKey(), new byte[0]));
                        });
                assertThat(diff).as("diff %d..%d", from, version).containsExactlyElementsOf(expected);
            }
        }
        for (String k : history.keySet()) {
            List<long[]> got = new ArrayList<>();
            String token = "";
            for (int round = 0; round < 100; round++) {
                GetKeyHistoryResponse page = feeds().getKeyHistory(GetKeyHistoryRequest.newBuilder().setFeedKey(key).setKey(k)
                        .setPageSize(7).setPageToken(token).build());
                for (KeyChange c : page.getChangesList()) {
                    got.add(new long[] {c.getVersion(), c.getDeleted() ? 1 : 0});
                }
                token = page.getNextPageToken();
                if (token.isEmpty()) {
                    break;
                }
            }
            assertThat(got).as("history of %s", k).usingElementComparator((a, b) -> java.util.Arrays.compare(a, b))
                    .containsExactlyElementsOf(history.get(k));
        }
    }

    List<String> scan(String key, long version, String prefix, String start, String end, boolean reverse, int limit) {
        List<String> out = new ArrayList<>();
        feeds().scanKeys(ScanKeysRequest.newBuilder().setFeedKey(key).setVersion(version).setPrefix(prefix).setStartKey(start)
                .setEndKey(end).setReverse(reverse).setLimit(limit).build()).forEachRemaining(e -> out.add(e.getEntry().getKey()));
        return out;
    }

    @Test
    void keyValueWritesAreCheckedAndCompareAndSetHolds() {
        start();
        String kv = feeds().createFeed(CreateFeedRequest.newBuilder().setName("kv-cas").setType(FeedType.FEED_TYPE_KEY_VALUE)
                .build()).getFeed().getFeedKey();
        String log = feeds().createFeed(CreateFeedRequest.newBuilder().setName("a-log").build()).getFeed().getFeedKey();
        long v1 = feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("k").setValue(ByteString.copyFromUtf8("1")).build())
                .getVersion();
        assertStatus(() -> feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("k").setValue(ByteString.copyFromUtf8("2"))
                .setExpectedVersion(v1 + 5).build()), Status.Code.ABORTED, "expected_version");
        long v2 = feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("k").setValue(ByteString.copyFromUtf8("2"))
                .setExpectedVersion(v1).build()).getVersion();
        assertThat(v2).isEqualTo(v1 + 1);
        assertStatus(() -> feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("").build()), Status.Code.INVALID_ARGUMENT, "key");
        assertStatus(() -> feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("x".repeat(1025)).build()),
                Status.Code.INVALID_ARGUMENT, "key");
        assertStatus(() -> feeds().putValue(PutValueRequest.newBuilder().setFeedKey(kv).setKey("big")
                .setValue(ByteString.copyFrom(new byte[1 << 20])).build()), Status.Code.RESOURCE_EXHAUSTED, "value");
        assertStatus(() -> feeds().putValue(PutValueRequest.newBuilder().setFeedKey(log).setKey("k").build()),
                Status.Code.FAILED_PRECONDITION, "log feed");
        assertStatus(() -> feeds().deleteValue(DeleteValueRequest.newBuilder().setFeedKey(kv).setKey("never").build()),
                Status.Code.NOT_FOUND, "never");
        assertStatus(() -> feeds().getValue(GetValueRequest.newBuilder().setFeedKey(kv).setKey("k").setVersion(v2 + 1).build()),
                Status.Code.OUT_OF_RANGE, "version");
        assertStatus(() -> feeds().diffVersions(DiffVersionsRequest.newBuilder().setFeedKey(kv).setFromVersion(2).setToVersion(1)
                .build()).hasNext(), Status.Code.INVALID_ARGUMENT, "from_version");
        // nothing of the refused writes went in: two versions, the value of the second
        assertThat(feeds().getFeed(GetFeedRequest.newBuilder().setFeedKey(kv).build()).getFeed().getLength()).isEqualTo(2);
        assertThat(feeds().getValue(GetValueRequest.newBuilder().setFeedKey(kv).setKey("k").build()).getEntry().getValue()
                .toStringUtf8()).isEqualTo("2");
        assertThat(feeds().getValue(GetValueRequest.newBuilder().setFeedKey(kv).setKey("k").setVersion(v1).build()).getEntry()
                .getValue().toStringUtf8()).as("a read-only checkout at the first version").isEqualTo("1");
        // the view's entries are in the signed log like any other: each one proved
        GetEntryResponse e = feeds().getEntry(GetEntryRequest.newBuilder().setFeedKey(kv).setIndex(1).setIncludeProof(true).build());
        assertThat(io.celluler.data.feed.KeyValueOp.decode(e.getEntry().getData().toByteArray()).keyText()).isEqualTo("k");
    }
}
