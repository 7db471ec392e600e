package io.celluler.catalog.grpc;

import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.CatalogReplica.Change;
import io.celluler.catalog.engine.EntryState;
import io.celluler.catalog.engine.Location;
import io.celluler.catalog.engine.Status;
import io.celluler.catalog.engine.UnknownEntryException;
import io.celluler.catalog.node.CatalogNode;
import io.celluler.catalog.query.EntryQuery;
import io.celluler.catalog.query.LabelSelector;
import io.celluler.catalog.replication.Replication;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.proto.catalog.v1.AddToCounterRequest;
import io.celluler.proto.catalog.v1.AddToCounterResponse;
import io.celluler.proto.catalog.v1.CatalogEntry;
import io.celluler.proto.catalog.v1.CatalogServiceGrpc.CatalogServiceImplBase;
import io.celluler.proto.catalog.v1.CreateEntryRequest;
import io.celluler.proto.catalog.v1.CreateEntryResponse;
import io.celluler.proto.catalog.v1.DeleteEntryRequest;
import io.celluler.proto.catalog.v1.DeleteEntryResponse;
import io.celluler.proto.catalog.v1.FinalizeEntryRequest;
import io.celluler.proto.catalog.v1.FinalizeEntryResponse;
import io.celluler.proto.catalog.v1.GetEntryRequest;
import io.celluler.proto.catalog.v1.GetEntryResponse;
import io.celluler.proto.catalog.v1.GetSyncStatusRequest;
import io.celluler.proto.catalog.v1.GetSyncStatusResponse;
import io.celluler.proto.catalog.v1.ListEntriesRequest;
import io.celluler.proto.catalog.v1.ListEntriesResponse;
import io.celluler.proto.catalog.v1.RunAntiEntropyRequest;
import io.celluler.proto.catalog.v1.RunAntiEntropyResponse;
import io.celluler.proto.catalog.v1.SetLocationRequest;
import io.celluler.proto.catalog.v1.SetLocationResponse;
import io.celluler.proto.catalog.v1.UpdateEntryRequest;
import io.celluler.proto.catalog.v1.UpdateEntryResponse;
import io.celluler.proto.catalog.v1.UpdateLabelsRequest;
import io.celluler.proto.catalog.v1.UpdateLabelsResponse;
import io.celluler.proto.catalog.v1.WatchEntriesRequest;
import io.celluler.proto.catalog.v1.WatchEntriesResponse;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Service;

/**
 * CatalogService: proto to the replica's writes and reads and back. Every request is checked before anything is
 * written ({@link CatalogRequests}); a write is answered once durable; reads see every write answered before them.
 */
@Service
public class CatalogGrpcService extends CatalogServiceImplBase {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;

    private final CatalogNode node;
    private final Replication replication;
    /** Watches drain on virtual threads (each waits on the database, none holds a thread between changes). */
    private final ExecutorService watches = Executors.newVirtualThreadPerTaskExecutor();

    public CatalogGrpcService(CatalogNode node, Replication replication) {
        this.node = node;
        this.replication = replication;
    }

    @Override
    public void createEntry(CreateEntryRequest r, StreamObserver<CreateEntryResponse> out) {
        answer(out, () -> {
            int type = CatalogRequests.type(r.getTypeValue());
            String name = CatalogRequests.name(r.getName());
            String version = CatalogRequests.version(type, r.getVersion());
            String root = CatalogRequests.contentRoot(r.getContentRoot());
            var labels = new TreeMap<>(CatalogRequests.labels("labels", r.getLabelsMap()));
            ByteString metadata = CatalogRequests.metadata(r.getMetadata());
            CatalogRequests.details(type, CatalogEntry.DetailsCase.valueOf(r.getDetailsCase().name()));
            ByteString details = CatalogMessages.details(detailsOf(r));
            String id = node.newEntryId();
            long size = r.getSizeBytes();
            CatalogEntry e = node.write((rep, changes) -> shown(changes, rep.create(id, type, name, version, root,
                    size, details, labels, metadata, System.currentTimeMillis())));
            return CreateEntryResponse.newBuilder().setEntry(e).build();
        });
    }

    private static CatalogEntry.Builder detailsOf(CreateEntryRequest r) {
        CatalogEntry.Builder b = CatalogEntry.newBuilder();
        switch (r.getDetailsCase()) {
            case SNAPSHOT -> b.setSnapshot(r.getSnapshot());
            case IMAGE -> b.setImage(r.getImage());
            case MODEL -> b.setModel(r.getModel());
            default -> {
            }
        }
        return b;
    }

    @Override
    public void getEntry(GetEntryRequest r, StreamObserver<GetEntryResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            CatalogEntry e = node.read(rep -> CatalogMessages.toProto(rep.visible(id)));
            return GetEntryResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void listEntries(ListEntriesRequest r, StreamObserver<ListEntriesResponse> out) {
        answer(out, () -> {
            int type = CatalogRequests.typeFilter(r.getTypeValue());
            int status = r.getStatusValue();
            if (status < 0 || status > 3) {
                throw GrpcErrors.invalidArgument("status", "must be one of the EntryStatus values");
            }
            if (r.getPageSize() < 0) {
                throw GrpcErrors.invalidArgument("page_size", "must not be negative");
            }
            int size = r.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(r.getPageSize(), MAX_PAGE);
            if (r.getMaxSizeBytes() != 0 && r.getMaxSizeBytes() < r.getMinSizeBytes()) {
                throw GrpcErrors.invalidArgument("max_size_bytes", "is below min_size_bytes");
            }
            Long after = CatalogRequests.time("created_after", r.getCreatedAfter());
            Long before = CatalogRequests.time("created_before", r.getCreatedBefore());
            EntryQuery.Sort sort;
            try {
                sort = EntryQuery.Sort.parse(r.getOrderBy());
            } catch (IllegalArgumentException e) {
                throw GrpcErrors.invalidArgument("order_by", e.getMessage());
            }
            EntryQuery q;
            try {
                q = new EntryQuery(type, r.getNamePrefix(), r.getLabelSelector(), status, r.getOwnerCellId(),
                        r.getMinSizeBytes(), r.getMaxSizeBytes(), after, before, sort);
            } catch (IllegalArgumentException e) {
                throw GrpcErrors.invalidArgument("label_selector", e.getMessage());
            }
            EntryQuery.Page<CatalogEntry> page = node.read(rep -> {
                try {
                    return q.run(rep.entries().values(), size, r.getPageToken()).map(CatalogMessages::toProto);
                } catch (IllegalArgumentException e) {
                    throw GrpcErrors.invalidArgument("page_token", e.getMessage());
                }
            });
            return ListEntriesResponse.newBuilder().addAllEntries(page.entries()).setNextPageToken(page.nextToken())
                    .build();
        });
    }

    @Override
    public void updateEntry(UpdateEntryRequest r, StreamObserver<UpdateEntryResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            String name = r.hasName() ? CatalogRequests.name(r.getName()) : null;
            String root = r.hasContentRoot() ? CatalogRequests.contentRoot(r.getContentRoot()) : null;
            Long size = r.hasSizeBytes() ? r.getSizeBytes() : null;
            ByteString metadata = r.hasMetadata() ? CatalogRequests.metadata(r.getMetadata()) : null;
            CatalogEntry.Builder holder = CatalogEntry.newBuilder();
            switch (r.getDetailsCase()) {
                case SNAPSHOT -> holder.setSnapshot(r.getSnapshot());
                case IMAGE -> holder.setImage(r.getImage());
                case MODEL -> holder.setModel(r.getModel());
                default -> {
                }
            }
            ByteString details = r.getDetailsCase() == UpdateEntryRequest.DetailsCase.DETAILS_NOT_SET ? null
                    : CatalogMessages.details(holder);
            if (name == null && !r.hasVersion() && root == null && size == null && metadata == null
                    && details == null) {
                throw GrpcErrors.invalidArgument("entry_id", "the request sets no field to write");
            }
            CatalogEntry e = node.write((rep, changes) -> {
                EntryState cur = rep.visible(id);
                String version = r.hasVersion() ? CatalogRequests.version(cur.type(), r.getVersion()) : null;
                if (details != null) {
                    CatalogRequests.details(cur.type(), CatalogEntry.DetailsCase.valueOf(r.getDetailsCase().name()));
                }
                long now = System.currentTimeMillis();
                Change last = null;
                if (name != null || version != null || root != null || size != null || details != null) {
                    last = add(changes, rep.updateFields(id, name, version, root, size, details, now));
                }
                if (metadata != null) {
                    last = add(changes, rep.updateMetadata(id, metadata, now));
                }
                return CatalogMessages.toProto(last.entry());
            });
            return UpdateEntryResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void updateLabels(UpdateLabelsRequest r, StreamObserver<UpdateLabelsResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            var set = new TreeMap<>(CatalogRequests.labels("set_labels", r.getSetLabelsMap()));
            Set<String> remove = new HashSet<>(r.getRemoveLabelsList());
            for (String k : remove) {
                String p = io.celluler.catalog.query.LabelSyntax.keyProblem(k);
                if (p != null) {
                    throw GrpcErrors.invalidArgument("remove_labels", p);
                }
                if (set.containsKey(k)) {
                    throw GrpcErrors.invalidArgument("remove_labels", "'" + k + "' is also in set_labels");
                }
            }
            if (set.isEmpty() && remove.isEmpty()) {
                throw GrpcErrors.invalidArgument("set_labels", "the request sets and removes no label");
            }
            CatalogEntry e = node.write((rep, changes) -> {
                Set<String> keys = new HashSet<>(rep.visible(id).labels().keySet());
                keys.addAll(set.keySet());
                keys.removeAll(remove);
                if (keys.size() > CatalogRequests.MAX_LABELS) {
                    throw GrpcErrors.limitExceeded("set_labels", "an entry has at most " + CatalogRequests.MAX_LABELS
                            + " labels; this would make " + keys.size());
                }
                return shown(changes, rep.updateLabels(id, set, remove, System.currentTimeMillis()));
            });
            return UpdateLabelsResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void deleteEntry(DeleteEntryRequest r, StreamObserver<DeleteEntryResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            node.write((rep, changes) -> add(changes, rep.delete(id, System.currentTimeMillis())));
            return DeleteEntryResponse.getDefaultInstance();
        });
    }

    @Override
    public void finalizeEntry(FinalizeEntryRequest r, StreamObserver<FinalizeEntryResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            boolean failing = !r.getFailureReason().isEmpty();
            if (failing == r.hasFinality()) {
                throw GrpcErrors.invalidArgument("finality", "give either finality or failure_reason");
            }
            if (!failing) {
                throw io.grpc.Status.UNIMPLEMENTED.withDescription("making an entry FINAL checks its finality proof"
                        + " against the validator set and the state; that comes with the snapshot-flow issue (a"
                        + " failure_reason works now)").asRuntimeException();
            }
            if (r.getFailureReason().length() > CatalogRequests.MAX_REASON) {
                throw GrpcErrors.invalidArgument("failure_reason", "at most " + CatalogRequests.MAX_REASON
                        + " characters");
            }
            CatalogEntry e = node.write((rep, changes) -> {
                EntryState cur = rep.visible(id);
                Status st = cur.status();
                if (st.code() == Status.FINAL) {
                    throw io.grpc.Status.FAILED_PRECONDITION.withDescription("entry " + id + " is FINAL already")
                            .asRuntimeException();
                }
                if (st.code() == Status.FAILED && st.reason().equals(r.getFailureReason())) {
                    return CatalogMessages.toProto(cur); // the same call again: nothing to write
                }
                return shown(changes, rep.updateStatus(id, Status.FAILED, r.getFailureReason(), ByteString.EMPTY,
                        System.currentTimeMillis()));
            });
            return FinalizeEntryResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void setLocation(SetLocationRequest r, StreamObserver<SetLocationResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            int kind = r.getKindValue();
            if (kind != 1 && kind != 2) {
                throw GrpcErrors.invalidArgument("kind", "must be LOCATION_KIND_STORED or LOCATION_KIND_LOADED");
            }
            CatalogEntry e = node.write((rep, changes) -> {
                EntryState cur = rep.visible(id);
                Location l = cur.locations().get(rep.self() + "/" + kind);
                if ((l == null && !r.getPresent()) || (l != null && l.present() == r.getPresent())) {
                    return CatalogMessages.toProto(cur); // as it is already
                }
                return shown(changes, rep.setLocation(id, kind, r.getPresent(), System.currentTimeMillis()));
            });
            return SetLocationResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void addToCounter(AddToCounterRequest r, StreamObserver<AddToCounterResponse> out) {
        answer(out, () -> {
            String id = CatalogRequests.entryId(r.getEntryId());
            String counter = CatalogRequests.counter(r.getCounter());
            if (r.getAmount() == 0 || r.getAmount() == Long.MIN_VALUE) {
                throw GrpcErrors.invalidArgument("amount", "not 0 (and not -2^63)");
            }
            CatalogEntry e = node.write((rep, changes) -> {
                try {
                    return shown(changes, rep.addToCounter(id, counter, r.getAmount(), System.currentTimeMillis()));
                } catch (ArithmeticException overflow) {
                    throw GrpcErrors.invalidArgument("amount", "the counter's share on this cell would overflow");
                }
            });
            return AddToCounterResponse.newBuilder().setEntry(e).build();
        });
    }

    @Override
    public void watchEntries(WatchEntriesRequest r, StreamObserver<WatchEntriesResponse> out) {
        try {
            int type = CatalogRequests.typeFilter(r.getTypeValue());
            LabelSelector selector;
            try {
                selector = LabelSelector.parse(r.getLabelSelector());
            } catch (IllegalArgumentException e) {
                throw GrpcErrors.invalidArgument("label_selector", e.getMessage());
            }
            long after;
            if (r.getCursor().isEmpty()) {
                after = node.lastChangeNo();
            } else {
                try {
                    after = Long.parseLong(r.getCursor());
                } catch (NumberFormatException e) {
                    after = -1;
                }
                if (after < 0 || after > node.lastChangeNo()) {
                    throw GrpcErrors.invalidArgument("cursor", "not a cursor this service gave");
                }
                long first = node.store().firstChangeNo();
                if (first > after + 1) {
                    throw io.grpc.Status.OUT_OF_RANGE.withDescription("cursor " + after + " is older than the changes"
                            + " kept (from " + first + "): list the entries again and watch from now").asRuntimeException();
                }
            }
            new Watch(node, after, type, selector, (ServerCallStreamObserver<WatchEntriesResponse>) out, watches);
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (DataAccessException e) {
            out.onError(unavailable(e));
        }
    }

    @Override
    public void getSyncStatus(GetSyncStatusRequest r, StreamObserver<GetSyncStatusResponse> out) {
        answer(out, () -> {
            GetSyncStatusResponse.Builder b = node.read(rep -> GetSyncStatusResponse.newBuilder()
                    .setEntryCount(rep.liveCount())
                    .setTombstoneCount(rep.tombstoneCount())
                    .setMerkleRoot(HexFormat.of().formatHex(rep.digest("").xor()))
                    .putAllVersionVector(rep.knowledgeVector())
                    .putAllStableVector(rep.stableVector()));
            b.addAllPeers(replication.peerStatus());
            return b.build();
        });
    }

    @Override
    public void runAntiEntropy(RunAntiEntropyRequest r, StreamObserver<RunAntiEntropyResponse> out) {
        answer(out, () -> RunAntiEntropyResponse.newBuilder()
                .addAllResults(replication.runAntiEntropy(r.getCellIdsList())).build());
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Records a change and answers the entry as shown after it (under the writer's lock). */
    private static CatalogEntry shown(java.util.List<Change> changes, Change c) {
        changes.add(c);
        return CatalogMessages.toProto(c.entry());
    }

    private static Change add(java.util.List<Change> changes, Change c) {
        changes.add(c);
        return c;
    }

    private static <T> void answer(StreamObserver<T> out, Supplier<T> body) {
        try {
            out.onNext(body.get());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (UnknownEntryException e) {
            out.onError(GrpcErrors.notFound("entry " + e.entryId() + " does not exist (or was deleted)"));
        } catch (DataAccessException e) {
            out.onError(unavailable(e));
        }
    }

    private static StatusRuntimeException unavailable(DataAccessException e) {
        return io.grpc.Status.UNAVAILABLE.withDescription("the catalog store is unavailable: "
                + e.getMostSpecificCause().getMessage()).asRuntimeException();
    }

    @jakarta.annotation.PreDestroy
    void close() {
        watches.shutdownNow();
    }
}
