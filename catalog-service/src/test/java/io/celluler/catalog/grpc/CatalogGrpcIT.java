package io.celluler.catalog.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.BadRequest;
import io.celluler.catalog.CatalogServiceApplication;
import io.celluler.core.test.RunningService;
import io.celluler.proto.catalog.v1.AddToCounterRequest;
import io.celluler.proto.catalog.v1.CatalogEntry;
import io.celluler.proto.catalog.v1.CatalogServiceGrpc;
import io.celluler.proto.catalog.v1.ChangeType;
import io.celluler.proto.catalog.v1.CreateEntryRequest;
import io.celluler.proto.catalog.v1.DeleteEntryRequest;
import io.celluler.proto.catalog.v1.EntryStatus;
import io.celluler.proto.catalog.v1.EntryType;
import io.celluler.proto.catalog.v1.Finality;
import io.celluler.proto.catalog.v1.FinalizeEntryRequest;
import io.celluler.proto.catalog.v1.GetEntryRequest;
import io.celluler.proto.catalog.v1.GetSyncStatusRequest;
import io.celluler.proto.catalog.v1.ImageDetails;
import io.celluler.proto.catalog.v1.ListEntriesRequest;
import io.celluler.proto.catalog.v1.ListEntriesResponse;
import io.celluler.proto.catalog.v1.LocationKind;
import io.celluler.proto.catalog.v1.ModelDetails;
import io.celluler.proto.catalog.v1.RunAntiEntropyRequest;
import io.celluler.proto.catalog.v1.SetLocationRequest;
import io.celluler.proto.catalog.v1.UpdateEntryRequest;
import io.celluler.proto.catalog.v1.UpdateLabelsRequest;
import io.celluler.proto.catalog.v1.WatchEntriesRequest;
import io.celluler.proto.catalog.v1.WatchEntriesResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * catalog-service over real gRPC on loopback, on the embedded default (H2 file); {@link CatalogPostgresIT} runs
 * every scenario again on PostgreSQL.
 */
class CatalogGrpcIT {

    static final String ROOT = "ab".repeat(32);

    @TempDir
    Path dataDir;

    private RunningService service;
    private ManagedChannel channel;

    protected List<String> extraArgs() {
        return List.of();
    }

    protected void start() {
        service = RunningService.start(CatalogServiceApplication.class, CatalogServiceApplication.NAME, dataDir,
                extraArgs());
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

    CatalogServiceGrpc.CatalogServiceBlockingStub catalog() {
        return CatalogServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    CatalogEntry create(EntryType type, String name, String version, long size, Map<String, String> labels) {
        CreateEntryRequest.Builder b = CreateEntryRequest.newBuilder().setType(type).setName(name).setVersion(version)
                .setContentRoot(ROOT).setSizeBytes(size).putAllLabels(labels);
        return catalog().createEntry(b.build()).getEntry();
    }

    CatalogEntry snapshot(String name, long size, Map<String, String> labels) {
        return create(EntryType.ENTRY_TYPE_SNAPSHOT, name, "", size, labels);
    }

    List<CatalogEntry> listAll(ListEntriesRequest q) {
        List<CatalogEntry> out = new ArrayList<>();
        String token = "";
        for (int i = 0; i < 1000; i++) {
            ListEntriesResponse r = catalog().listEntries(q.toBuilder().setPageToken(token).build());
            out.addAll(r.getEntriesList());
            token = r.getNextPageToken();
            if (token.isEmpty()) {
                return out;
            }
        }
        throw new AssertionError("more than 1000 pages");
    }

    static List<String> names(List<CatalogEntry> es) {
        return es.stream().map(CatalogEntry::getName).toList();
    }

    @Test
    void entriesAreCreatedReadUpdatedAndDeleted() throws Exception {
        start();
        Struct md = Struct.newBuilder().putFields("os", Value.newBuilder().setStringValue("debian").build()).build();
        CatalogEntry created = catalog().createEntry(CreateEntryRequest.newBuilder().setType(EntryType.ENTRY_TYPE_MODEL)
                .setName("iris").setVersion("3").setContentRoot(ROOT).setSizeBytes(4096).putLabels("team", "ml")
                .setMetadata(md).setModel(ModelDetails.newBuilder().setFormat("onnx").putMetrics("accuracy", 0.97))
                .build()).getEntry();
        assertThat(created.getEntryId()).matches("[0-9a-f]{32}");
        assertThat(created.getStatus()).isEqualTo(EntryStatus.ENTRY_STATUS_PENDING);
        assertThat(created.getModel().getMetricsMap()).containsEntry("accuracy", 0.97);
        assertThat(created.getOwnerCellId()).startsWith("local-");
        String id = created.getEntryId();
        assertThat(catalog().getEntry(GetEntryRequest.newBuilder().setEntryId(id).build()).getEntry())
                .isEqualTo(created);

        CatalogEntry updated = catalog().updateEntry(UpdateEntryRequest.newBuilder().setEntryId(id).setName("iris-v3")
                .setSizeBytes(5000).setMetadata(Struct.getDefaultInstance()).build()).getEntry();
        assertThat(updated.getName()).isEqualTo("iris-v3");
        assertThat(updated.getSizeBytes()).isEqualTo(5000);
        assertThat(updated.getVersion()).isEqualTo("3");
        assertThat(updated.getMetadata()).isEqualTo(Struct.getDefaultInstance());
        assertThat(updated.getConcurrentMetadataList()).isEmpty();

        CatalogEntry labelled = catalog().updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(id)
                .putSetLabels("stage", "prod").addRemoveLabels("team").build()).getEntry();
        assertThat(labelled.getLabelsMap()).containsExactly(Map.entry("stage", "prod"));

        catalog().addToCounter(AddToCounterRequest.newBuilder().setEntryId(id).setCounter("pulls").setAmount(5).build());
        CatalogEntry counted = catalog().addToCounter(AddToCounterRequest.newBuilder().setEntryId(id)
                .setCounter("pulls").setAmount(-2).build()).getEntry();
        assertThat(counted.getCountersMap()).containsEntry("pulls", 3L);

        CatalogEntry located = catalog().setLocation(SetLocationRequest.newBuilder().setEntryId(id)
                .setKind(LocationKind.LOCATION_KIND_LOADED).setPresent(true).build()).getEntry();
        assertThat(located.getLocationsList()).singleElement()
                .satisfies(l -> assertThat(l.getCellId()).isEqualTo(created.getOwnerCellId()));

        CatalogEntry failed = catalog().finalizeEntry(FinalizeEntryRequest.newBuilder().setEntryId(id)
                .setFailureReason("consensus timed out").build()).getEntry();
        assertThat(failed.getStatus()).isEqualTo(EntryStatus.ENTRY_STATUS_FAILED);
        assertThat(failed.getStatusReason()).isEqualTo("consensus timed out");
        // the same call again is answered alike (idempotent)
        assertThat(catalog().finalizeEntry(FinalizeEntryRequest.newBuilder().setEntryId(id)
                .setFailureReason("consensus timed out").build()).getEntry()).isEqualTo(failed);

        catalog().deleteEntry(DeleteEntryRequest.newBuilder().setEntryId(id).build());
        assertThatThrownBy(() -> catalog().getEntry(GetEntryRequest.newBuilder().setEntryId(id).build()))
                .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> catalog().updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(id)
                .putSetLabels("a", "b").build())).satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND));
        assertThat(catalog().listEntries(ListEntriesRequest.getDefaultInstance()).getEntriesList()).isEmpty();
        var sync = catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
        assertThat(sync.getEntryCount()).isZero();
        assertThat(sync.getTombstoneCount()).isEqualTo(1);
    }

    @Test
    void queriesFilterSortAndPageStablyWhileEntriesChange() throws Exception {
        start();
        Instant before = Instant.now();
        for (int i = 0; i < 30; i++) {
            snapshot(String.format("snap-%02d", i), 100L * i, Map.of("env", i % 3 == 0 ? "prod" : "dev",
                    "tier", "t" + (i % 4)));
        }
        create(EntryType.ENTRY_TYPE_IMAGE, "nginx", "1.27", 50, Map.of("env", "prod"));
        CatalogEntry model = create(EntryType.ENTRY_TYPE_MODEL, "iris", "1", 70, Map.of());

        ListEntriesRequest all = ListEntriesRequest.newBuilder().setPageSize(7).build();
        List<CatalogEntry> everything = listAll(all);
        assertThat(everything).hasSize(32);
        assertThat(names(everything)).isSorted();

        assertThat(listAll(all.toBuilder().setType(EntryType.ENTRY_TYPE_SNAPSHOT).build())).hasSize(30);
        assertThat(names(listAll(all.toBuilder().setNamePrefix("snap-1").build())))
                .containsExactly("snap-10", "snap-11", "snap-12", "snap-13", "snap-14", "snap-15", "snap-16",
                        "snap-17", "snap-18", "snap-19");
        assertThat(listAll(all.toBuilder().setLabelSelector("env=prod").build())).hasSize(11);
        assertThat(listAll(all.toBuilder().setLabelSelector("env!=prod").build())).hasSize(21); // iris has no env
        assertThat(listAll(all.toBuilder().setLabelSelector("tier in (t0, t1)").build())).hasSize(16);
        assertThat(listAll(all.toBuilder().setLabelSelector("tier notin (t0,t1),env=dev").build()))
                .allSatisfy(e -> assertThat(e.getLabelsMap().get("env")).isEqualTo("dev"));
        assertThat(listAll(all.toBuilder().setLabelSelector("!tier").build())).hasSize(2);
        assertThat(listAll(all.toBuilder().setLabelSelector("tier").build())).hasSize(30);
        assertThat(listAll(all.toBuilder().setMinSizeBytes(1000).setMaxSizeBytes(1500).build()))
                .extracting(CatalogEntry::getSizeBytes).containsExactlyInAnyOrder(1000L, 1100L, 1200L, 1300L, 1400L,
                        1500L);
        assertThat(listAll(all.toBuilder().setOwnerCellId(model.getOwnerCellId()).build())).hasSize(32);
        assertThat(listAll(all.toBuilder().setOwnerCellId("another-cell").build())).isEmpty();
        assertThat(listAll(all.toBuilder().setCreatedAfter(before.minusSeconds(1).toString())
                .setCreatedBefore(Instant.now().plusSeconds(1).toString()).build())).hasSize(32);
        assertThat(listAll(all.toBuilder().setCreatedBefore(before.minusSeconds(1).toString()).build())).isEmpty();
        List<Long> bySizeDesc = listAll(all.toBuilder().setOrderBy("-size_bytes").build()).stream()
                .map(CatalogEntry::getSizeBytes).toList();
        assertThat(bySizeDesc).isSortedAccordingTo((a, b) -> Long.compare(b, a));
        assertThat(names(listAll(all.toBuilder().setOrderBy("created_at").setType(EntryType.ENTRY_TYPE_SNAPSHOT)
                .build()))).isSorted();

        // paging while entries come and go: nothing is given twice, nothing that stayed is skipped
        Set<String> seen = new HashSet<>();
        List<String> order = new ArrayList<>();
        String token = "";
        int page = 0;
        Iterator<CatalogEntry> toDelete = everything.stream().filter(e -> e.getName().compareTo("snap-20") > 0)
                .toList().iterator();
        do {
            ListEntriesResponse r = catalog().listEntries(ListEntriesRequest.newBuilder().setPageSize(5)
                    .setPageToken(token).build());
            for (CatalogEntry e : r.getEntriesList()) {
                assertThat(seen.add(e.getEntryId())).as("given twice: %s", e.getName()).isTrue();
                order.add(e.getName());
            }
            token = r.getNextPageToken();
            // between pages: one new entry sorting before everything, one sorting after, one deleted ahead
            snapshot("aaa-" + page, 1, Map.of());
            snapshot("zzz-" + page, 1, Map.of());
            if (toDelete.hasNext()) {
                catalog().deleteEntry(DeleteEntryRequest.newBuilder().setEntryId(toDelete.next().getEntryId()).build());
            }
            page++;
        } while (!token.isEmpty() && page < 100);
        assertThat(order).isSorted();
        for (CatalogEntry e : everything) {
            boolean deleted = catalog().listEntries(ListEntriesRequest.newBuilder().setNamePrefix(e.getName())
                    .build()).getEntriesList().stream().noneMatch(x -> x.getEntryId().equals(e.getEntryId()));
            if (!deleted) {
                assertThat(seen).as("skipped %s", e.getName()).contains(e.getEntryId());
            }
        }
    }

    @Test
    void watchStreamsChangesFromACursorAndResumes() throws Exception {
        start();
        CatalogEntry first = snapshot("first", 1, Map.of("env", "prod"));
        Iterator<WatchEntriesResponse> live = CatalogServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).watchEntries(WatchEntriesRequest.getDefaultInstance());
        CatalogEntry second = snapshot("second", 2, Map.of("env", "dev"));
        catalog().updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(first.getEntryId())
                .putSetLabels("tier", "gold").build());
        catalog().deleteEntry(DeleteEntryRequest.newBuilder().setEntryId(second.getEntryId()).build());

        WatchEntriesResponse c1 = live.next();
        assertThat(c1.getChangeType()).isEqualTo(ChangeType.CHANGE_TYPE_CREATED);
        assertThat(c1.getEntry().getName()).isEqualTo("second");
        WatchEntriesResponse c2 = live.next();
        assertThat(c2.getChangeType()).isEqualTo(ChangeType.CHANGE_TYPE_UPDATED);
        assertThat(c2.getEntry().getLabelsMap()).containsEntry("tier", "gold");
        WatchEntriesResponse c3 = live.next();
        assertThat(c3.getChangeType()).isEqualTo(ChangeType.CHANGE_TYPE_DELETED);
        assertThat(c3.getEntry().getName()).as("a delete carries the entry's last state").isEqualTo("second");
        assertThat(c3.getEntry().getLabelsMap()).containsEntry("env", "dev");

        // resume after the first change; with a selector, only matching changes
        Iterator<WatchEntriesResponse> resumed = CatalogServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).watchEntries(WatchEntriesRequest.newBuilder()
                        .setCursor(c1.getCursor()).setLabelSelector("env=prod").build());
        assertThat(resumed.next().getCursor()).isEqualTo(c2.getCursor());
        snapshot("third", 3, Map.of("env", "prod"));
        WatchEntriesResponse c4 = resumed.next();
        assertThat(c4.getEntry().getName()).isEqualTo("third");

        // the stream survives a restart of nothing but its cursor
        stop();
        start();
        Iterator<WatchEntriesResponse> again = CatalogServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).watchEntries(WatchEntriesRequest.newBuilder()
                        .setCursor(c2.getCursor()).build());
        assertThat(again.next().getCursor()).isEqualTo(c3.getCursor());
        assertThat(again.next().getCursor()).isEqualTo(c4.getCursor());
    }

    @Test
    void aRestartKeepsEverything() throws Exception {
        start();
        CatalogEntry a = snapshot("kept", 10, Map.of("k", "v"));
        catalog().addToCounter(AddToCounterRequest.newBuilder().setEntryId(a.getEntryId()).setCounter("c")
                .setAmount(4).build());
        CatalogEntry gone = snapshot("gone", 10, Map.of());
        catalog().deleteEntry(DeleteEntryRequest.newBuilder().setEntryId(gone.getEntryId()).build());
        var before = catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
        CatalogEntry aBefore = catalog().getEntry(GetEntryRequest.newBuilder().setEntryId(a.getEntryId()).build())
                .getEntry();
        stop();
        start();
        var after = catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
        assertThat(after.getMerkleRoot()).isEqualTo(before.getMerkleRoot());
        assertThat(after.getVersionVectorMap()).isEqualTo(before.getVersionVectorMap());
        assertThat(after.getTombstoneCount()).isEqualTo(1);
        assertThat(catalog().getEntry(GetEntryRequest.newBuilder().setEntryId(a.getEntryId()).build()).getEntry())
                .isEqualTo(aBefore);
        // the cell keeps writing as the same cell, after its earlier changes
        CatalogEntry b = snapshot("after", 1, Map.of());
        assertThat(b.getOwnerCellId()).isEqualTo(a.getOwnerCellId());
        String self = a.getOwnerCellId();
        assertThat(catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance()).getVersionVectorMap().get(self))
                .isEqualTo(before.getVersionVectorMap().get(self) + 1);
    }

    @Test
    void badInputGetsAClearErrorAndWritesNothing() throws Exception {
        start();
        CatalogEntry e = snapshot("one", 1, Map.of("k", "v"));
        String id = e.getEntryId();
        var before = catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance());

        CreateEntryRequest ok = CreateEntryRequest.newBuilder().setType(EntryType.ENTRY_TYPE_SNAPSHOT).setName("x")
                .build();
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setTypeValue(0).build()), "type");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setTypeValue(9).build()), "type");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setName("").build()), "name");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setName("a".repeat(254)).build()), "name");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setName("tab\there").build()), "name");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setVersion("1").build()), "version");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setType(EntryType.ENTRY_TYPE_MODEL).build()),
                "version");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setType(EntryType.ENTRY_TYPE_MODEL)
                .setVersion("v1").build()), "version");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setType(EntryType.ENTRY_TYPE_IMAGE)
                .setVersion("bad tag").build()), "version");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setContentRoot("xyz").build()), "content_root");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().putLabels("bad key!", "v").build()), "labels");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().putLabels("k", "-bad").build()), "labels");
        assertInvalid(() -> catalog().createEntry(ok.toBuilder().setImage(ImageDetails.newBuilder().setTag("1"))
                .build()), "image");
        Struct big = Struct.newBuilder().putFields("blob", Value.newBuilder().setStringValue("x".repeat(70_000))
                .build()).build();
        assertCode(() -> catalog().createEntry(ok.toBuilder().setMetadata(big).build()),
                Status.Code.RESOURCE_EXHAUSTED, "metadata");
        CreateEntryRequest.Builder many = ok.toBuilder();
        for (int i = 0; i < 65; i++) {
            many.putLabels("k" + i, "v");
        }
        assertCode(() -> catalog().createEntry(many.build()), Status.Code.RESOURCE_EXHAUSTED, "labels");

        assertInvalid(() -> catalog().getEntry(GetEntryRequest.newBuilder().setEntryId("nope").build()), "entry_id");
        assertCode(() -> catalog().getEntry(GetEntryRequest.newBuilder().setEntryId("0".repeat(32)).build()),
                Status.Code.NOT_FOUND, null);
        assertInvalid(() -> catalog().updateEntry(UpdateEntryRequest.newBuilder().setEntryId(id).build()),
                "entry_id");
        assertInvalid(() -> catalog().updateEntry(UpdateEntryRequest.newBuilder().setEntryId(id).setVersion("2")
                .build()), "version");
        assertInvalid(() -> catalog().updateEntry(UpdateEntryRequest.newBuilder().setEntryId(id)
                .setModel(ModelDetails.getDefaultInstance()).build()), "model");
        assertInvalid(() -> catalog().updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(id).build()),
                "set_labels");
        assertInvalid(() -> catalog().updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(id)
                .putSetLabels("k", "v").addRemoveLabels("k").build()), "remove_labels");
        assertInvalid(() -> catalog().addToCounter(AddToCounterRequest.newBuilder().setEntryId(id).setCounter("c")
                .setAmount(0).build()), "amount");
        assertInvalid(() -> catalog().addToCounter(AddToCounterRequest.newBuilder().setEntryId(id)
                .setCounter("no spaces").setAmount(1).build()), "counter");
        assertInvalid(() -> catalog().setLocation(SetLocationRequest.newBuilder().setEntryId(id).build()), "kind");
        assertInvalid(() -> catalog().finalizeEntry(FinalizeEntryRequest.newBuilder().setEntryId(id).build()),
                "finality");
        assertInvalid(() -> catalog().finalizeEntry(FinalizeEntryRequest.newBuilder().setEntryId(id)
                .setFailureReason("x").setFinality(Finality.getDefaultInstance()).build()), "finality");
        assertCode(() -> catalog().finalizeEntry(FinalizeEntryRequest.newBuilder().setEntryId(id)
                .setFinality(Finality.newBuilder().setTxId("ab")).build()), Status.Code.UNIMPLEMENTED, null);

        for (String selector : List.of("env=(a)", "env in prod", "env in (a,b", "env notin ()", "!", "a=b,,c=d",
                "bad key=v", "k=v=w", "k in ((a))")) {
            assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setLabelSelector(selector)
                    .build()), "label_selector");
        }
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setPageToken("garbage!").build()),
                "page_token");
        String token = catalog().listEntries(ListEntriesRequest.newBuilder().setPageSize(1).build())
                .getNextPageToken();
        snapshot("two", 1, Map.of()); // so that there is a next page
        String realToken = catalog().listEntries(ListEntriesRequest.newBuilder().setPageSize(1).build())
                .getNextPageToken();
        assertThat(realToken).isNotEmpty();
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setPageSize(1)
                .setOrderBy("-name").setPageToken(realToken).build()), "page_token");
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setOrderBy("colour").build()),
                "order_by");
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setPageSize(-1).build()),
                "page_size");
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setCreatedAfter("yesterday")
                .build()), "created_after");
        assertInvalid(() -> catalog().listEntries(ListEntriesRequest.newBuilder().setTypeValue(7).build()), "type");
        assertInvalid(() -> catalog().watchEntries(WatchEntriesRequest.newBuilder().setCursor("abc").build())
                .hasNext(), "cursor");
        assertInvalid(() -> catalog().watchEntries(WatchEntriesRequest.newBuilder().setCursor("999999").build())
                .hasNext(), "cursor");
        assertCode(() -> catalog().runAntiEntropy(RunAntiEntropyRequest.getDefaultInstance()),
                Status.Code.FAILED_PRECONDITION, null);

        // nothing was written by any of them: one entry more ("two") and its one change, no other
        var after = catalog().getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
        String self = e.getOwnerCellId();
        assertThat(after.getVersionVectorMap().get(self)).isEqualTo(before.getVersionVectorMap().get(self) + 1);
        assertThat(after.getEntryCount()).isEqualTo(2);
        assertThat(catalog().getEntry(GetEntryRequest.newBuilder().setEntryId(id).build()).getEntry()).isEqualTo(e);
        assertThat(token).isEmpty();
    }

    static Status.Code code(Throwable t) {
        return ((StatusRuntimeException) t).getStatus().getCode();
    }

    static void assertInvalid(Runnable call, String field) {
        assertCode(call, Status.Code.INVALID_ARGUMENT, field);
    }

    static void assertCode(Runnable call, Status.Code code, String field) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            if (field != null) {
                com.google.rpc.Status s = StatusProto.fromThrowable(e);
                assertThat(s).as("a google.rpc.Status with details").isNotNull();
                BadRequest br = s.getDetailsList().stream().filter(a -> a.is(BadRequest.class)).findFirst()
                        .map(a -> {
                            try {
                                return a.unpack(BadRequest.class);
                            } catch (Exception ex) {
                                throw new AssertionError(ex);
                            }
                        }).orElseThrow();
                assertThat(br.getFieldViolations(0).getField()).isEqualTo(field);
            }
        });
    }
}
