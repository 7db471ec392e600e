package io.celluler.state.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import com.google.protobuf.ByteString;
import com.google.rpc.BadRequest;
import io.celluler.core.hash.Sha256;
import io.celluler.core.smt.StateProofs;
import io.celluler.core.test.RunningService;
import io.celluler.proto.consensus.v1.Block;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.proto.state.v1.CompareRootsRequest;
import io.celluler.proto.state.v1.CompareRootsResponse;
import io.celluler.proto.state.v1.CreateSnapshotRequest;
import io.celluler.proto.state.v1.GetKeyHistoryRequest;
import io.celluler.proto.state.v1.GetSnapshotRequest;
import io.celluler.proto.state.v1.ListSnapshotsRequest;
import io.celluler.proto.state.v1.ListSnapshotsResponse;
import io.celluler.proto.state.v1.SnapshotEntry;
import io.celluler.proto.state.v1.SnapshotHeader;
import io.celluler.proto.state.v1.StateSnapshot;
import io.celluler.proto.state.v1.GetKeyHistoryResponse;
import io.celluler.proto.state.v1.GetStateRootRequest;
import io.celluler.proto.state.v1.GetStatusRequest;
import io.celluler.proto.state.v1.GetStatusResponse;
import io.celluler.proto.state.v1.GetTransactionResultRequest;
import io.celluler.proto.state.v1.GetTransactionResultResponse;
import io.celluler.proto.state.v1.GetValueRequest;
import io.celluler.proto.state.v1.GetValueResponse;
import io.celluler.proto.state.v1.ListNamespacesRequest;
import io.celluler.proto.state.v1.NamespaceInfo;
import io.celluler.proto.state.v1.StateProof;
import io.celluler.proto.state.v1.StateServiceGrpc;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;
import io.celluler.proto.state.v1.StreamAppliedHeightsRequest;
import io.celluler.proto.state.v1.StreamAppliedHeightsResponse;
import io.celluler.state.StateServiceApplication;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * state-service over real gRPC on loopback, on the embedded default (H2 file), following a consensus-service
 * stand-in ({@link FakeConsensus}); {@link StatePostgresIT} runs every scenario again on PostgreSQL. The real
 * consensus-service drives it in the cli module's network tests.
 */
class StateGrpcIT {

    @TempDir
    Path dataDir;

    FakeConsensus consensus;
    private RunningService service;

    protected List<String> extraArgs() {
        return List.of();
    }

    @BeforeEach
    void consensus() throws Exception {
        consensus = new FakeConsensus();
    }

    protected void start(String... more) {
        List<String> args = new ArrayList<>(extraArgs());
        args.addAll(List.of(more));
        args.add("--celluler.state.consensus-address=" + consensus.address());
        args.add("--celluler.state.retry-backoff-max=300ms");
        service = RunningService.start(StateServiceApplication.class, StateServiceApplication.NAME, dataDir, args);
    }

    protected void stop() throws InterruptedException {
        if (service != null) {
            service.close();
            service = null;
        }
    }

    @AfterEach
    void close() throws Exception {
        stop();
        consensus.close();
    }

    StateServiceGrpc.StateServiceBlockingStub api() {
        return StateServiceGrpc.newBlockingStub(service.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------------------------

    static Transaction stateTx(StateTransaction t) {
        return Transaction.newBuilder().setPayloadType(StateMachine.STATE_TX).setPayload(t.toByteString()).build();
    }

    static Transaction put(String ns, String key, String value) {
        return stateTx(StateTransaction.newBuilder().setPutValue(mutation(ns, key, value)).build());
    }

    static Mutation.Builder mutation(String ns, String key, String value) {
        return Mutation.newBuilder().setNamespace(ns).setKey(key).setValue(ByteString.copyFromUtf8(value));
    }

    static Transaction delete(String ns, String key) {
        return stateTx(StateTransaction.newBuilder().setDeleteValue(Mutation.newBuilder().setNamespace(ns).setKey(key))
                .build());
    }

    static String id(Transaction t) {
        return Sha256.hexOf(t.toByteArray());
    }

    void awaitApplied(long height) {
        Awaitility.await("applied height " + height).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> api().getStatus(GetStatusRequest.getDefaultInstance()).getAppliedHeight() >= height);
    }

    GetValueResponse get(String ns, String key, long height) {
        return api().getValue(GetValueRequest.newBuilder().setNamespace(ns).setKey(key).setHeight(height)
                .setIncludeProof(true).build());
    }

    String root(long height) {
        return api().getStateRoot(GetStateRootRequest.newBuilder().setHeight(height).build()).getStateRoot().getRoot();
    }

    /** The roots an independent in-memory state machine computes for the fake chain's blocks. */
    List<String> expectedRoots(List<Block> blocks) {
        StateMachine m = new StateMachine(new SparseMerkleTree(new SparseMerkleTree.MemoryStore()),
                new StateMachine.MemoryValues(), 0, SparseMerkleTree.emptyRoot());
        List<String> roots = new ArrayList<>();
        for (Block b : blocks) {
            List<StateMachine.Tx> txs = new ArrayList<>();
            for (int i = 0; i < b.getTransactionsCount(); i++) {
                txs.add(new StateMachine.Tx(b.getTxIds(i), b.getTransactions(i).getPayloadType(),
                        b.getTransactions(i).getPayload().toByteArray()));
            }
            roots.add(Sha256.hex(m.apply(b.getHeader().getHeight(), txs).root()));
        }
        return roots;
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void appliesCommittedBlocksAndServesValuesWithProofsAtEveryHeight() throws Exception {
        Transaction casMiss = stateTx(StateTransaction.newBuilder().setCompareAndSet(StateTransaction.CompareAndSet
                .newBuilder().setNamespace("app").setKey("x").setExpectedValueSha256("ab".repeat(32))
                .setNewValue(ByteString.copyFromUtf8("never"))).build());
        Transaction note = Transaction.newBuilder().setPayloadType("celluler.test.v1.Note")
                .setPayload(ByteString.copyFromUtf8("not for the state machine")).build();
        List<Block> chain = new ArrayList<>();
        chain.add(consensus.append(put("app", "x", "1"), stateTx(StateTransaction.newBuilder().setBatch(
                StateTransaction.Batch.newBuilder().addMutations(mutation("cfg", "y", "2"))
                        .addMutations(mutation("cfg", "z", "3"))).build())));
        chain.add(consensus.append(casMiss, delete("cfg", "y"), note));
        chain.add(consensus.append(put("app", "x", "3"), stateTx(StateTransaction.newBuilder().setRegisterSnapshot(
                StateTransaction.RegisterSnapshot.newBuilder().setSnapshotId("snap-1").setName("first")
                        .setContentRoot("cd".repeat(32)).setSizeBytes(10)).build())));
        start();
        awaitApplied(3);

        // the same roots as an independent machine fed the same blocks
        List<String> expected = expectedRoots(chain);
        for (int h = 1; h <= 3; h++) {
            assertThat(root(h)).as("root at %d", h).isEqualTo(expected.get(h - 1));
        }
        assertThat(api().getStateRoot(GetStateRootRequest.getDefaultInstance()).getStateRoot().getHeight()).isEqualTo(3);
        var root2 = api().getStateRoot(GetStateRootRequest.newBuilder().setHeight(2).build()).getStateRoot();
        assertThat(root2.getTxCount()).as("state transactions only").isEqualTo(2);
        assertThat(root2.getFailedTxCount()).isEqualTo(1);
        assertThat(root2.getBlockHash()).isEqualTo(chain.get(1).getHeader().getBlockHash());

        // values at each height, each with a proof against that height's root
        GetValueResponse x1 = get("app", "x", 1);
        assertThat(x1.getExists()).isTrue();
        assertThat(x1.getValue().toStringUtf8()).isEqualTo("1");
        assertThat(x1.getModifiedHeight()).isEqualTo(1);
        assertThat(x1.getProof().getRoot()).isEqualTo(root(1));
        assertThat(StateProofs.verify(x1.getProof(), "app", "x")).isTrue();
        assertThat(x1.getProof().getValueSha256()).isEqualTo(Sha256.hexOf("1".getBytes(StandardCharsets.UTF_8)));
        GetValueResponse x3 = get("app", "x", 0);
        assertThat(x3.getHeight()).isEqualTo(3);
        assertThat(x3.getValue().toStringUtf8()).isEqualTo("3");
        assertThat(x3.getModifiedHeight()).isEqualTo(3);
        assertThat(StateProofs.verify(x3.getProof(), "app", "x")).isTrue();
        assertThat(StateProofs.verify(x3.getProof(), "app", "y")).as("a proof is about its own key").isFalse();
        GetValueResponse y2 = get("cfg", "y", 2);
        assertThat(y2.getExists()).isFalse();
        assertThat(y2.getProof().getExists()).isFalse();
        assertThat(StateProofs.verify(y2.getProof(), "cfg", "y")).as("absence proven").isTrue();
        assertThat(get("cfg", "y", 1).getValue().toStringUtf8()).isEqualTo("2");

        // any changed byte of a proof fails it
        for (StateProof bad : tampered(x3.getProof())) {
            assertThat(StateProofs.verify(bad, "app", "x")).as("tampered %s", bad).isFalse();
        }

        // history, paged
        GetKeyHistoryResponse page1 = api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("app")
                .setKey("x").setPageSize(1).build());
        assertThat(page1.getVersionsList()).singleElement().satisfies(v -> {
            assertThat(v.getHeight()).isEqualTo(1);
            assertThat(v.getValue().toStringUtf8()).isEqualTo("1");
            assertThat(v.getTxId()).isEqualTo(id(chain.get(0).getTransactions(0)));
        });
        GetKeyHistoryResponse page2 = api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("app")
                .setKey("x").setPageSize(1).setPageToken(page1.getNextPageToken()).build());
        assertThat(page2.getVersionsList()).singleElement().satisfies(v -> assertThat(v.getHeight()).isEqualTo(3));
        assertThat(page2.getNextPageToken()).isEmpty();
        var yHistory = api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("cfg").setKey("y").build())
                .getVersionsList();
        assertThat(yHistory).extracting(v -> v.getHeight() + ":" + v.getDeleted()).containsExactly("1:false", "2:true");

        // namespaces with their live key counts
        assertThat(api().listNamespaces(ListNamespacesRequest.getDefaultInstance()).getNamespacesList())
                .extracting(NamespaceInfo::getNamespace, NamespaceInfo::getKeyCount)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("app", 1L), org.assertj.core.groups.Tuple.tuple("cfg", 1L),
                        org.assertj.core.groups.Tuple.tuple("snapshots", 1L));
        assertThat(get("snapshots", "snap-1", 0).getExists()).isTrue();

        // what became of each transaction
        GetTransactionResultResponse miss = result(id(casMiss));
        assertThat(miss.getApplied()).isFalse();
        assertThat(miss.getHeight()).isEqualTo(2);
        assertThat(miss.getFailure()).contains("compare_and_set")
                .contains(Sha256.hexOf("1".getBytes(StandardCharsets.UTF_8))).contains("ab".repeat(32));
        assertThat(result(id(chain.get(0).getTransactions(1))).getApplied()).isTrue();
        assertThatThrownBy(() -> result(id(note))).as("not a state transaction")
                .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.NOT_FOUND));

        GetStatusResponse status = api().getStatus(GetStatusRequest.getDefaultInstance());
        assertThat(status.getAppliedHeight()).isEqualTo(3);
        assertThat(status.getCommittedHeight()).isEqualTo(3);
        assertThat(status.getLatestRoot().getRoot()).isEqualTo(expected.get(2));
        assertThat(status.getFeedError()).isEmpty();
    }

    GetTransactionResultResponse result(String txId) {
        return api().getTransactionResult(GetTransactionResultRequest.newBuilder().setTxId(txId).build());
    }

    /** Copies of a proof, each with one thing changed. */
    static List<StateProof> tampered(StateProof p) {
        List<StateProof> out = new ArrayList<>();
        Consumer<StateProof> add = out::add;
        add.accept(p.toBuilder().setRoot(flipHex(p.getRoot())).build());
        add.accept(p.toBuilder().setValueSha256(flipHex(p.getValueSha256())).build());
        add.accept(p.toBuilder().setKeyPathSha256(flipHex(p.getKeyPathSha256())).build());
        add.accept(p.toBuilder().setDepth(p.getDepth() + 1).build());
        add.accept(p.toBuilder().setExists(false).build());
        for (int i = 0; i < p.getSiblingHashesCount(); i++) {
            add.accept(p.toBuilder().setSiblingHashes(i, flipHex(p.getSiblingHashes(i))).build());
        }
        byte[] bitmap = p.getDefaultSiblingBitmap().toByteArray();
        for (int i = 0; i < p.getDepth(); i++) {
            byte[] b = bitmap.clone();
            b[i / 8] ^= (byte) (1 << (i % 8));
            add.accept(p.toBuilder().setDefaultSiblingBitmap(ByteString.copyFrom(b)).build());
        }
        return out;
    }

    static String flipHex(String hex) {
        char c = hex.charAt(hex.length() - 1);
        return hex.substring(0, hex.length() - 1) + (c == '0' ? '1' : '0');
    }

    @Test
    void streamsAppliedHeightsThenNewOnesAsTheyCommit() throws Exception {
        consensus.append(put("app", "a", "1"));
        consensus.append(put("app", "b", "2"));
        start();
        awaitApplied(2);
        Context.CancellableContext ctx = Context.current().withCancellation();
        try {
            List<Long> seen = ctx.call(() -> {
                Iterator<StreamAppliedHeightsResponse> it = StateServiceGrpc.newBlockingStub(service.channel())
                        .withDeadlineAfter(60, TimeUnit.SECONDS)
                        .streamAppliedHeights(StreamAppliedHeightsRequest.newBuilder().setFromHeight(1).build());
                List<Long> heights = new ArrayList<>();
                heights.add(it.next().getStateRoot().getHeight());
                heights.add(it.next().getStateRoot().getHeight());
                consensus.append(put("app", "c", "3"));
                StreamAppliedHeightsResponse live = it.next();
                heights.add(live.getStateRoot().getHeight());
                assertThat(live.getStateRoot().getRoot()).isEqualTo(root(3));
                return heights;
            });
            assertThat(seen).containsExactly(1L, 2L, 3L);
        } finally {
            ctx.cancel(null);
        }
    }

    @Test
    void aRestartResumesAtTheAppliedHeightWithEverythingItHad() throws Exception {
        for (int i = 0; i < 5; i++) {
            consensus.append(put("app", "k" + i, "v" + i), put("app", "shared", "s" + i));
        }
        start();
        awaitApplied(5);
        List<String> before = new ArrayList<>();
        for (int h = 1; h <= 5; h++) {
            before.add(root(h));
        }
        stop();
        consensus.streamsFrom.clear();
        start();
        Awaitility.await("a new stream").atMost(Duration.ofSeconds(30)).until(() -> !consensus.streamsFrom.isEmpty());
        assertThat(consensus.streamsFrom.getFirst()).as("resumes after the last applied height").isEqualTo(6L);
        for (int h = 1; h <= 5; h++) {
            assertThat(root(h)).isEqualTo(before.get(h - 1));
        }
        assertThat(get("app", "shared", 0).getValue().toStringUtf8()).isEqualTo("s4");
        consensus.append(delete("app", "k0"));
        awaitApplied(6);
        assertThat(get("app", "k0", 6).getExists()).isFalse();
        assertThat(get("app", "k0", 5).getExists()).isTrue();
    }

    @Test
    void aBlockThatDoesNotFollowIsRefusedAndNothingOfItApplied() throws Exception {
        consensus.append(put("app", "a", "1"));
        consensus.append("ee".repeat(32), put("app", "a", "forged"));
        start();
        Awaitility.await("the refusal reported").atMost(Duration.ofSeconds(30)).until(() ->
                api().getStatus(GetStatusRequest.getDefaultInstance()).getFeedError().contains("names parent"));
        GetStatusResponse s = api().getStatus(GetStatusRequest.getDefaultInstance());
        assertThat(s.getAppliedHeight()).isEqualTo(1);
        assertThat(s.getFeedError()).contains("block 2").contains("ee".repeat(32));
        assertThat(get("app", "a", 0).getValue().toStringUtf8()).isEqualTo("1");
    }

    @Test
    void badOperationsFailAloneWithTheirReasonAndChangeNothing() throws Exception {
        consensus.append(put("app", "keep", "1"));
        Transaction oversized = stateTx(StateTransaction.newBuilder().setPutValue(Mutation.newBuilder()
                .setNamespace("app").setKey("big").setValue(ByteString.copyFrom(new byte[64 * 1024 + 1]))).build());
        Transaction halfBadBatch = stateTx(StateTransaction.newBuilder().setBatch(StateTransaction.Batch.newBuilder()
                .addMutations(mutation("app", "first", "ok")).addMutations(mutation("BAD NS", "second", "no")))
                .build());
        Transaction reserved = put("validators", "cell", "x");
        Transaction garbage = Transaction.newBuilder().setPayloadType(StateMachine.STATE_TX)
                .setPayload(ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff, 0x01})).build();
        Transaction emptyKey = put("app", "", "x");
        consensus.append(oversized, halfBadBatch, reserved, garbage, emptyKey);
        start();
        awaitApplied(2);
        assertThat(root(2)).as("nothing of a failed transaction is applied").isEqualTo(root(1));
        assertThat(result(id(oversized)).getFailure()).contains("value: at most 65536 bytes");
        assertThat(result(id(halfBadBatch)).getFailure()).contains("batch.mutations[1].namespace");
        assertThat(result(id(reserved)).getFailure()).contains("namespace: 'validators'");
        assertThat(result(id(garbage)).getFailure()).contains("payload");
        assertThat(result(id(emptyKey)).getFailure()).contains("key: 1 to 1024 bytes");
        assertThat(get("app", "first", 0).getExists()).isFalse();
        assertThat(api().getStateRoot(GetStateRootRequest.newBuilder().setHeight(2).build()).getStateRoot()
                .getFailedTxCount()).isEqualTo(5);
    }

    @Test
    void badRequestsGetAClearErrorNamingTheField() throws Exception {
        consensus.append(put("app", "a", "1"));
        start();
        awaitApplied(1);
        expectField(() -> get("Not A Namespace", "a", 0), Status.Code.INVALID_ARGUMENT, "namespace");
        expectField(() -> get("app", "", 0), Status.Code.INVALID_ARGUMENT, "key");
        expectField(() -> get("app", "k".repeat(1025), 0), Status.Code.INVALID_ARGUMENT, "key");
        expectField(() -> result("nothex"), Status.Code.INVALID_ARGUMENT, "tx_id");
        expectField(() -> api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("app").setKey("a")
                .setPageSize(-1).build()), Status.Code.INVALID_ARGUMENT, "page_size");
        expectField(() -> api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("app").setKey("a")
                .setPageToken("garbage").build()), Status.Code.INVALID_ARGUMENT, "page_token");
        expectField(() -> api().getKeyHistory(GetKeyHistoryRequest.newBuilder().setNamespace("app").setKey("a")
                .setFromHeight(5).setToHeight(2).build()), Status.Code.INVALID_ARGUMENT, "from_height");
        expectCode(() -> get("nowhere", "a", 0), Status.Code.NOT_FOUND, "namespace 'nowhere'");
        expectCode(() -> get("app", "a", 99), Status.Code.NOT_FOUND, "height 99 is not applied yet");
        expectCode(() -> root(99), Status.Code.NOT_FOUND, "height 99");
        expectCode(() -> result("ab".repeat(32)), Status.Code.NOT_FOUND, "no applied block");
    }

    @Test
    void aCellAloneComparesWithNoOne() throws Exception {
        consensus.append(put("app", "a", "1"));
        start();
        awaitApplied(1);
        CompareRootsResponse none = api().compareRoots(CompareRootsRequest.getDefaultInstance());
        assertThat(none.getHeight()).isEqualTo(1);
        assertThat(none.getLocalRoot()).isEqualTo(root(1));
        assertThat(none.getPeersList()).isEmpty();
        assertThat(none.getDiverged()).isFalse();
        CompareRootsResponse named = api().compareRoots(CompareRootsRequest.newBuilder().addCellIds("elsewhere").build());
        assertThat(named.getPeersList()).singleElement().satisfies(p -> {
            assertThat(p.getMatches()).isFalse();
            assertThat(p.getError()).contains("alone");
        });
        assertThat(named.getDiverged()).as("no answer is no divergence").isFalse();
        expectField(() -> api().compareRoots(CompareRootsRequest.newBuilder().addCellIds("").build()),
                Status.Code.INVALID_ARGUMENT, "cell_ids[0]");
        expectCode(() -> api().compareRoots(CompareRootsRequest.newBuilder().setHeight(7).build()),
                Status.Code.NOT_FOUND, "height 7 is not applied yet");
    }

    @Test
    void snapshotsAreTakenPeriodicallyAndOnRequestAndRebuildTheirRoot() throws Exception {
        for (int i = 0; i < 7; i++) {
            consensus.append(put("app", "k" + (i % 4), "v" + i), put("ns" + (i % 2), "x", "y" + i),
                    i == 5 ? delete("app", "k0") : put("app", "extra", "e"));
        }
        start("--celluler.state.snapshot-interval-heights=3", "--celluler.state.snapshot-retain=2");
        awaitApplied(7);
        Awaitility.await("the periodic snapshot at 6").atMost(Duration.ofSeconds(30)).until(() ->
                api().listSnapshots(ListSnapshotsRequest.getDefaultInstance()).getSnapshotsList().stream()
                        .anyMatch(x -> x.getHeight() == 6));
        StateSnapshot taken = api().createSnapshot(CreateSnapshotRequest.getDefaultInstance()).getSnapshot();
        assertThat(taken.getHeight()).isEqualTo(7);
        assertThat(taken.getRoot()).isEqualTo(root(7));
        assertThat(api().createSnapshot(CreateSnapshotRequest.getDefaultInstance()).getSnapshot())
                .as("the height's snapshot, not a second one").isEqualTo(taken);
        assertThat(api().listSnapshots(ListSnapshotsRequest.getDefaultInstance()).getSnapshotsList())
                .as("newest first, the newest two kept").extracting(StateSnapshot::getHeight).containsExactly(7L, 6L);
        ListSnapshotsResponse page = api().listSnapshots(ListSnapshotsRequest.newBuilder().setPageSize(1).build());
        assertThat(page.getSnapshotsList()).extracting(StateSnapshot::getHeight).containsExactly(7L);
        assertThat(api().listSnapshots(ListSnapshotsRequest.newBuilder().setPageSize(1)
                .setPageToken(page.getNextPageToken()).build()).getSnapshotsList())
                .extracting(StateSnapshot::getHeight).containsExactly(6L);
        assertThat(api().getSnapshot(GetSnapshotRequest.newBuilder().setHeight(7).build()).getSnapshot())
                .isEqualTo(taken);
        expectCode(() -> api().getSnapshot(GetSnapshotRequest.newBuilder().setHeight(3).build()),
                Status.Code.NOT_FOUND, "no snapshot at height 3");

        // the content: its SHA-256 as recorded, and its entries rebuild the root
        byte[] content = java.nio.file.Files.readAllBytes(dataDir.resolve("state-service/snapshots/7.snap"));
        assertThat(Sha256.hexOf(content)).isEqualTo(taken.getContentRoot());
        assertThat((long) content.length).isEqualTo(taken.getSizeBytes());
        java.io.InputStream in = new java.io.ByteArrayInputStream(content);
        SnapshotHeader header = SnapshotHeader.parseDelimitedFrom(in);
        assertThat(header.getKeyCount()).isEqualTo(taken.getKeyCount()).isEqualTo(6); // app k1-3, extra; ns0 x; ns1 x
        java.util.TreeMap<java.nio.ByteBuffer, byte[]> leaves = new java.util.TreeMap<>();
        for (int i = 0; i < header.getKeyCount(); i++) {
            SnapshotEntry e = SnapshotEntry.parseDelimitedFrom(in);
            assertThat(get(e.getNamespace(), e.getKey(), 7).getValue()).isEqualTo(e.getValue());
            leaves.put(java.nio.ByteBuffer.wrap(io.celluler.core.smt.SparseMerkle.path(e.getNamespace(),
                    e.getKey().getBytes(StandardCharsets.UTF_8))), io.celluler.core.smt.SparseMerkle.valueHash(
                            e.getValue().toByteArray()));
        }
        assertThat(in.read()).isEqualTo(-1);
        assertThat(Sha256.hex(new SparseMerkleTree(new SparseMerkleTree.MemoryStore())
                .update(SparseMerkleTree.emptyRoot(), leaves))).isEqualTo(root(7));
    }

    static void expectField(Runnable call, Status.Code code, String field) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            com.google.rpc.Status detail = StatusProto.fromThrowable(e);
            assertThat(detail).as("a google.rpc.Status with details").isNotNull();
            try {
                BadRequest br = detail.getDetails(0).unpack(BadRequest.class);
                assertThat(br.getFieldViolations(0).getField()).isEqualTo(field);
            } catch (com.google.protobuf.InvalidProtocolBufferException x) {
                throw new AssertionError(x);
            }
        });
    }

    static void expectCode(Runnable call, Status.Code code, String text) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(text);
        });
    }
}
