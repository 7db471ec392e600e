package io.celluler.state.grpc;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.grpc.LiveStream;
import io.celluler.core.hash.Sha256;
import io.celluler.core.smt.StateProofs;
import io.celluler.proto.state.v1.CompareRootsRequest;
import io.celluler.proto.state.v1.CompareRootsResponse;
import io.celluler.proto.state.v1.CreateSnapshotRequest;
import io.celluler.proto.state.v1.CreateSnapshotResponse;
import io.celluler.proto.state.v1.GetKeyHistoryRequest;
import io.celluler.proto.state.v1.GetSnapshotRequest;
import io.celluler.proto.state.v1.GetSnapshotResponse;
import io.celluler.proto.state.v1.ListSnapshotsRequest;
import io.celluler.proto.state.v1.ListSnapshotsResponse;
import io.celluler.proto.state.v1.StateSnapshot;
import io.celluler.proto.state.v1.GetKeyHistoryResponse;
import io.celluler.proto.state.v1.GetStateRootRequest;
import io.celluler.proto.state.v1.GetStateRootResponse;
import io.celluler.proto.state.v1.GetStatusRequest;
import io.celluler.proto.state.v1.GetStatusResponse;
import io.celluler.proto.state.v1.GetTransactionResultRequest;
import io.celluler.proto.state.v1.GetTransactionResultResponse;
import io.celluler.proto.state.v1.GetValueRequest;
import io.celluler.proto.state.v1.GetValueResponse;
import io.celluler.proto.state.v1.KeyVersion;
import io.celluler.proto.state.v1.ListNamespacesRequest;
import io.celluler.proto.state.v1.ListNamespacesResponse;
import io.celluler.proto.state.v1.NamespaceInfo;
import io.celluler.proto.state.v1.StateRoot;
import io.celluler.proto.state.v1.StateServiceGrpc.StateServiceImplBase;
import io.celluler.proto.state.v1.StreamAppliedHeightsRequest;
import io.celluler.proto.state.v1.StreamAppliedHeightsResponse;
import io.celluler.state.engine.StateMachine;
import io.celluler.state.node.StateNode;
import io.celluler.state.replication.RootComparison;
import io.celluler.state.snapshot.Snapshots;
import io.celluler.state.store.StateStore.SnapshotRow;
import io.celluler.state.store.StateStore;
import io.celluler.state.store.StateStore.ChangeRow;
import io.celluler.state.store.StateStore.HeightRow;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.springframework.dao.DataAccessException;

/**
 * StateService: reads of the replicated state with proofs, roots per height, key history, transaction outcomes and
 * the applied-heights stream, root comparison with other cells, snapshots. Every read is at a committed height: what it answers was durable
 * before anyone could see it.
 */
public class StateGrpcService extends StateServiceImplBase {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9._-]{1,64}");

    private final StateNode node;
    private final RootComparison roots;
    private final Snapshots snapshots;
    private final String persistentStore;
    private final ExecutorService streams = Executors.newVirtualThreadPerTaskExecutor();

    public StateGrpcService(StateNode node, RootComparison roots, Snapshots snapshots, String persistentStore) {
        this.node = node;
        this.roots = roots;
        this.snapshots = snapshots;
        this.persistentStore = persistentStore;
    }

    @Override
    public void getValue(GetValueRequest r, StreamObserver<GetValueResponse> out) {
        answer(out, () -> {
            checkKey(r.getNamespace(), r.getKey());
            HeightRow h = heightRow(r.getHeight());
            checkNamespace(r.getNamespace());
            byte[] value = node.value(h.root(), r.getNamespace(), r.getKey());
            GetValueResponse.Builder b = GetValueResponse.newBuilder().setHeight(h.height()).setExists(value != null);
            if (value != null) {
                b.setValue(ByteString.copyFrom(value));
                ChangeRow last = node.store().lastChange(r.getNamespace(), r.getKey(), h.height());
                if (last != null) {
                    b.setModifiedHeight(last.height());
                }
            }
            if (r.getIncludeProof()) {
                b.setProof(StateProofs.toProto(node.prove(h.root(), r.getNamespace(), r.getKey()), h.height(),
                        h.root()));
            }
            return b.build();
        });
    }

    @Override
    public void getKeyHistory(GetKeyHistoryRequest r, StreamObserver<GetKeyHistoryResponse> out) {
        answer(out, () -> {
            checkKey(r.getNamespace(), r.getKey());
            int size = pageSize(r.getPageSize());
            long applied = node.head().height();
            long to = r.getToHeight() == 0 ? applied : r.getToHeight();
            long from = r.getFromHeight();
            if (from > to) {
                throw GrpcErrors.invalidArgument("from_height", "after to_height (" + to + ")");
            }
            if (!r.getPageToken().isEmpty()) {
                from = Math.max(from, token(r.getPageToken()));
            }
            checkNamespace(r.getNamespace());
            List<ChangeRow> rows = node.store().changes(r.getNamespace(), r.getKey(), from, to, size + 1);
            GetKeyHistoryResponse.Builder b = GetKeyHistoryResponse.newBuilder();
            for (int i = 0; i < Math.min(size, rows.size()); i++) {
                ChangeRow c = rows.get(i);
                KeyVersion.Builder v = KeyVersion.newBuilder().setHeight(c.height()).setTxId(c.txId())
                        .setDeleted(c.valueHash() == null);
                if (c.valueHash() != null) {
                    v.setValue(ByteString.copyFrom(node.valueByHash(c.valueHash())));
                }
                b.addVersions(v);
            }
            if (rows.size() > size) {
                b.setNextPageToken("h" + rows.get(size).height());
            }
            return b.build();
        });
    }

    @Override
    public void listNamespaces(ListNamespacesRequest r, StreamObserver<ListNamespacesResponse> out) {
        answer(out, () -> {
            ListNamespacesResponse.Builder b = ListNamespacesResponse.newBuilder();
            for (StateStore.NamespaceRow n : node.store().namespaces()) {
                b.addNamespaces(NamespaceInfo.newBuilder().setNamespace(n.namespace()).setKeyCount(n.keyCount())
                        .setLastChangedHeight(n.lastChangedHeight()));
            }
            return b.build();
        });
    }

    @Override
    public void getStateRoot(GetStateRootRequest r, StreamObserver<GetStateRootResponse> out) {
        answer(out, () -> GetStateRootResponse.newBuilder().setStateRoot(toProto(heightRow(r.getHeight()))).build());
    }

    @Override
    public void streamAppliedHeights(StreamAppliedHeightsRequest r, StreamObserver<StreamAppliedHeightsResponse> out) {
        long after = r.getFromHeight() == 0 ? node.head().height() : r.getFromHeight() - 1;
        new HeightStream(after, (ServerCallStreamObserver<StreamAppliedHeightsResponse>) out);
    }

    @Override
    public void compareRoots(CompareRootsRequest r, StreamObserver<CompareRootsResponse> out) {
        answer(out, () -> {
            List<String> cells = r.getCellIdsList();
            for (int i = 0; i < cells.size(); i++) {
                if (cells.get(i).isBlank() || cells.get(i).length() > 128) {
                    throw GrpcErrors.invalidArgument("cell_ids[" + i + "]", "a cell id of 1 to 128 characters");
                }
            }
            if (cells.size() > 1000) {
                throw GrpcErrors.limitExceeded("cell_ids", "at most 1000 cells, not " + cells.size());
            }
            HeightRow row = heightRow(r.getHeight());
            RootComparison.Result result = roots.compare(row, cells.isEmpty() ? roots.peers() : cells);
            return CompareRootsResponse.newBuilder().setHeight(result.height()).setLocalRoot(result.localRoot())
                    .addAllPeers(result.peers()).setDiverged(result.diverged()).build();
        });
    }

    @Override
    public void createSnapshot(CreateSnapshotRequest r, StreamObserver<CreateSnapshotResponse> out) {
        answer(out, () -> CreateSnapshotResponse.newBuilder().setSnapshot(toProto(snapshots.create(heightRow(0))))
                .build());
    }

    @Override
    public void listSnapshots(ListSnapshotsRequest r, StreamObserver<ListSnapshotsResponse> out) {
        answer(out, () -> {
            int size = pageSize(r.getPageSize());
            long before = r.getPageToken().isEmpty() ? 0 : token(r.getPageToken());
            List<SnapshotRow> rows = node.store().snapshots(before, size + 1);
            ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder();
            rows.stream().limit(size).forEach(s -> b.addSnapshots(toProto(s)));
            if (rows.size() > size) {
                b.setNextPageToken("h" + rows.get(size - 1).height());
            }
            return b.build();
        });
    }

    @Override
    public void getSnapshot(GetSnapshotRequest r, StreamObserver<GetSnapshotResponse> out) {
        answer(out, () -> {
            SnapshotRow s = node.store().snapshot(r.getHeight());
            if (s == null) {
                throw GrpcErrors.notFound("this cell holds no snapshot at height " + r.getHeight());
            }
            return GetSnapshotResponse.newBuilder().setSnapshot(toProto(s)).build();
        });
    }

    static StateSnapshot toProto(SnapshotRow s) {
        return StateSnapshot.newBuilder().setHeight(s.height()).setRoot(Sha256.hex(s.root()))
                .setContentRoot(s.contentSha256()).setSizeBytes(s.sizeBytes()).setKeyCount(s.keyCount())
                .setCreatedAt(timestamp(s.createdAt())).build();
    }

    @Override
    public void getTransactionResult(GetTransactionResultRequest r, StreamObserver<GetTransactionResultResponse> out) {
        answer(out, () -> {
            if (!Sha256.isCanonicalHex(r.getTxId())) {
                throw GrpcErrors.invalidArgument("tx_id", "64 lowercase hex digits");
            }
            StateStore.TxRow t = node.store().tx(r.getTxId());
            if (t == null) {
                throw GrpcErrors.notFound("no applied block holds state transaction " + r.getTxId()
                        + " (applied height: " + node.head().height() + ")");
            }
            return GetTransactionResultResponse.newBuilder().setTxId(t.txId()).setHeight(t.height())
                    .setApplied(t.applied()).setFailure(t.failure()).build();
        });
    }

    @Override
    public void getStatus(GetStatusRequest r, StreamObserver<GetStatusResponse> out) {
        answer(out, () -> {
            StateNode.Head head = node.head();
            GetStatusResponse.Builder b = GetStatusResponse.newBuilder()
                    .setAppliedHeight(head.height())
                    .setCommittedHeight(Math.max(node.committedHeight(), head.height()))
                    .setCatchingUp(node.catchingUp())
                    .setDiverged(roots.diverged())
                    .setDivergedHeight(roots.divergedHeight())
                    .setPrimaryStore("local")
                    .setCacheStore("none")
                    .setPersistentStore(persistentStore);
            if (head.height() > 0) {
                HeightRow row = node.store().height(head.height());
                if (row != null) {
                    b.setLatestRoot(toProto(row));
                }
            }
            String error = node.feedError();
            if (error != null) {
                b.setFeedError(error);
            }
            return b.build();
        });
    }

    /** The applied heights after a position, then each new one as it is committed. */
    private final class HeightStream extends LiveStream<StreamAppliedHeightsResponse> {

        private long next;

        HeightStream(long after, ServerCallStreamObserver<StreamAppliedHeightsResponse> out) {
            super(out, streams);
            this.next = after;
            start(node::listen);
        }

        @Override
        protected void sendAvailable() {
            while (ready()) {
                List<HeightRow> rows = node.store().heightsAfter(next, 64);
                if (rows.isEmpty()) {
                    return;
                }
                for (HeightRow row : rows) {
                    next = row.height();
                    out().onNext(StreamAppliedHeightsResponse.newBuilder().setStateRoot(toProto(row)).build());
                }
            }
        }

        @Override
        protected Status statusOf(RuntimeException e) {
            return StateGrpcService.statusOf(e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /** The row of a requested height (0: the latest applied one). */
    private HeightRow heightRow(long requested) {
        long applied = node.head().height();
        if (applied == 0) {
            throw GrpcErrors.notFound("no height is applied yet");
        }
        if (requested > applied) {
            throw GrpcErrors.notFound("height " + requested + " is not applied yet (applied: " + applied + ")");
        }
        HeightRow row = node.store().height(requested == 0 ? applied : requested);
        if (row == null) {
            throw GrpcErrors.notFound("height " + requested + " is not on this cell (it caught up from a snapshot"
                + " after it)");
        }
        return row;
    }

    private static void checkKey(String namespace, String key) {
        if (!NAMESPACE.matcher(namespace).matches()) {
            throw GrpcErrors.invalidArgument("namespace", "[a-z0-9._-]{1,64}, not '" + namespace + "'");
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > StateMachine.MAX_KEY_BYTES) {
            throw GrpcErrors.invalidArgument("key", "1 to " + StateMachine.MAX_KEY_BYTES + " bytes, not " + bytes);
        }
    }

    private void checkNamespace(String namespace) {
        if (!node.store().namespaceExists(namespace)) {
            throw GrpcErrors.notFound("namespace '" + namespace + "' does not exist (no transaction wrote to it)");
        }
    }

    private static int pageSize(int requested) {
        if (requested < 0) {
            throw GrpcErrors.invalidArgument("page_size", "0 or more, not " + requested);
        }
        return requested == 0 ? DEFAULT_PAGE : Math.min(requested, MAX_PAGE);
    }

    private static long token(String token) {
        try {
            if (token.startsWith("h")) {
                long h = Long.parseLong(token.substring(1));
                if (h > 0) {
                    return h;
                }
            }
        } catch (NumberFormatException bad) {
            // below
        }
        throw GrpcErrors.invalidArgument("page_token", "not a token this API gave out");
    }

    static StateRoot toProto(HeightRow row) {
        return StateRoot.newBuilder().setHeight(row.height()).setRoot(Sha256.hex(row.root()))
                .setBlockHash(row.blockHash()).setTxCount(row.txCount()).setFailedTxCount(row.failedTxCount())
                .setAppliedAt(timestamp(row.appliedAt())).build();
    }

    private static Timestamp timestamp(java.time.Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private static Status statusOf(RuntimeException e) {
        if (e instanceof StatusRuntimeException s) {
            return s.getStatus();
        }
        if (e instanceof DataAccessException d) {
            return Status.UNAVAILABLE.withDescription("the state store is unavailable: "
                    + d.getMostSpecificCause().getMessage());
        }
        return Status.INTERNAL.withDescription(e.getMessage());
    }

    private static <T> void answer(StreamObserver<T> out, java.util.function.Supplier<T> call) {
        T response;
        try {
            response = call.get();
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        } catch (RuntimeException e) {
            out.onError(statusOf(e).asRuntimeException());
            return;
        }
        out.onNext(response);
        out.onCompleted();
    }
}
