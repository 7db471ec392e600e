package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.celluler.cli.cell.CellService;
import io.celluler.proto.catalog.v1.AddToCounterRequest;
import io.celluler.proto.catalog.v1.CatalogEntry;
import io.celluler.proto.catalog.v1.CatalogServiceGrpc;
import io.celluler.proto.catalog.v1.CreateEntryRequest;
import io.celluler.proto.catalog.v1.DeleteEntryRequest;
import io.celluler.proto.catalog.v1.EntryType;
import io.celluler.proto.catalog.v1.GetEntryRequest;
import io.celluler.proto.catalog.v1.GetSyncStatusRequest;
import io.celluler.proto.catalog.v1.GetSyncStatusResponse;
import io.celluler.proto.catalog.v1.ListEntriesRequest;
import io.celluler.proto.catalog.v1.RunAntiEntropyRequest;
import io.celluler.proto.catalog.v1.UpdateEntryRequest;
import io.celluler.proto.catalog.v1.UpdateLabelsRequest;
import io.celluler.proto.network.v1.BlacklistPeerRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.UnblacklistPeerRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7 "done when", the catalog between four real cell processes on loopback ({@code celluler up --cells 4
 * --services network-service,catalog-service}): concurrent updates of the same entries on different cells converge
 * to the same state on all four; a cell partitioned away (every link to it refused: blacklisted both ways) while
 * it and the others change and delete entries converges after the partition heals; a deleted entry stays deleted
 * everywhere, even where it was updated concurrently, and its tombstone is collected once every cell has seen it.
 */
class CatalogNetworkIT {

    static final int FIRST = 41;
    static final int CELLS = 4;
    static final CellService CATALOG = service("catalog-service");
    static final CellService NETWORK = service("network-service");

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();
    Process cell;

    static CellService service(String name) {
        return CellService.ALL.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        if (cell != null) {
            cell.destroy();
            if (!cell.waitFor(60, TimeUnit.SECONDS)) {
                cell.destroyForcibly();
            }
        }
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(250))
                .ignoreExceptions().until(condition::getAsBoolean);
    }

    ManagedChannel channel(int port) {
        ManagedChannel c = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        channels.add(c);
        return c;
    }

    static CatalogServiceGrpc.CatalogServiceBlockingStub catalog(ManagedChannel c) {
        return CatalogServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static NetworkServiceGrpc.NetworkServiceBlockingStub network(ManagedChannel c) {
        return NetworkServiceGrpc.newBlockingStub(c).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    static GetSyncStatusResponse sync(ManagedChannel c) {
        return catalog(c).getSyncStatus(GetSyncStatusRequest.getDefaultInstance());
    }

    static CatalogEntry get(ManagedChannel c, String id) {
        return catalog(c).getEntry(GetEntryRequest.newBuilder().setEntryId(id).build()).getEntry();
    }

    /** All four replicas hold the same state (equal Merkle roots) and show the same entries. */
    static boolean converged(List<ManagedChannel> cats) {
        Set<String> roots = new HashSet<>();
        Set<List<CatalogEntry>> views = new HashSet<>();
        for (ManagedChannel c : cats) {
            roots.add(sync(c).getMerkleRoot());
            views.add(catalog(c).listEntries(ListEntriesRequest.newBuilder().setPageSize(1000).build())
                    .getEntriesList().stream().map(e -> e.toBuilder().clearUpdatedAt().clearLocations().build())
                    .toList());
        }
        return roots.size() == 1 && views.size() == 1;
    }

    @Test
    void concurrentUpdatesConvergeAPartitionedCellCatchesUpAndDeletesStay() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-jar", jar.toString(), "up", "--cells", String.valueOf(CELLS), "--cell",
                String.valueOf(FIRST), "--services", "network-service,catalog-service", "--data-dir",
                dataDir.toString(), "--set", "celluler.catalog.replication.anti-entropy-interval=2s"));
        cell = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(UpOutput.untilUp(cell)).contains("Press Ctrl-C");

        List<ManagedChannel> cats = new ArrayList<>();
        List<ManagedChannel> nets = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < CELLS; i++) {
            cats.add(channel(CATALOG.grpcPort(FIRST + i)));
            nets.add(channel(NETWORK.grpcPort(FIRST + i)));
            ManagedChannel n = nets.get(i);
            ids.add(network(n).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId());
        }
        ManagedChannel a = cats.get(0);

        // ---- entries made on one cell reach all; the owner is the cell that made them -------------------------
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            CatalogEntry e = catalog(a).createEntry(CreateEntryRequest.newBuilder().setType(EntryType.ENTRY_TYPE_SNAPSHOT)
                    .setName("shared-" + i).putLabels("env", "dev").build()).getEntry();
            assertThat(e.getOwnerCellId()).isEqualTo(ids.get(0));
            entries.add(e.getEntryId());
        }
        await("every cell has the 20 entries", 60, () -> cats.stream().allMatch(c -> catalog(c).listEntries(
                ListEntriesRequest.newBuilder().setPageSize(100).build()).getEntriesCount() == 20));

        // ---- the same entries updated concurrently on all four cells -----------------------------------------
        ExecutorService pool = Executors.newFixedThreadPool(CELLS);
        List<Future<?>> writes = new ArrayList<>();
        for (int k = 0; k < CELLS; k++) {
            int cellNo = k;
            writes.add(pool.submit(() -> {
                for (String id : entries) {
                    catalog(cats.get(cellNo)).updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(id)
                            .putSetLabels("writer", "cell" + cellNo).putSetLabels("w" + cellNo, "yes").build());
                    catalog(cats.get(cellNo)).addToCounter(AddToCounterRequest.newBuilder().setEntryId(id)
                            .setCounter("touches").setAmount(cellNo + 1).build());
                    catalog(cats.get(cellNo)).updateEntry(UpdateEntryRequest.newBuilder().setEntryId(id)
                            .setMetadata(Struct.newBuilder().putFields("by", Value.newBuilder()
                                    .setStringValue("cell" + cellNo).build())).build());
                }
                return null;
            }));
        }
        for (Future<?> f : writes) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        await("the four replicas converge after concurrent updates", 90, () -> converged(cats));
        for (String id : entries) {
            CatalogEntry e = get(cats.get(2), id);
            assertThat(e.getCountersMap()).as("counts of all four cells add up").containsEntry("touches", 1L + 2 + 3 + 4);
            assertThat(e.getLabelsMap()).containsKeys("w0", "w1", "w2", "w3", "writer");
            assertThat(e.getMetadata().getFieldsMap()).containsKey("by");
        }

        // ---- cell D partitioned away: every link to it refused, both ways ---------------------------------------
        int d = CELLS - 1;
        ManagedChannel dCat = cats.get(d);
        for (int i = 0; i < d; i++) {
            network(nets.get(i)).blacklistPeer(BlacklistPeerRequest.newBuilder().setCellId(ids.get(d))
                    .setReason("test partition").setDuration(com.google.protobuf.Duration.newBuilder().setSeconds(600))
                    .build());
            network(nets.get(d)).blacklistPeer(BlacklistPeerRequest.newBuilder().setCellId(ids.get(i))
                    .setReason("test partition").setDuration(com.google.protobuf.Duration.newBuilder().setSeconds(600))
                    .build());
        }
        String doomed = entries.get(0);
        String dOnly = catalog(dCat).createEntry(CreateEntryRequest.newBuilder().setType(EntryType.ENTRY_TYPE_IMAGE)
                .setName("made-in-partition").setVersion("1.0").build()).getEntry().getEntryId();
        for (int i = 0; i < 50; i++) {
            catalog(dCat).updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(entries.get(1 + i % 19))
                    .putSetLabels("partition", "d" + i).build());
        }
        // the others delete an entry that D updates concurrently
        catalog(a).deleteEntry(DeleteEntryRequest.newBuilder().setEntryId(doomed).build());
        catalog(dCat).updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(doomed).putSetLabels("late", "yes")
                .build());
        catalog(cats.get(1)).updateLabels(UpdateLabelsRequest.newBuilder().setEntryId(entries.get(5))
                .putSetLabels("outside", "yes").build());
        await("A, B and C agree without D", 60, () -> converged(cats.subList(0, d)));
        assertThat(sync(dCat).getMerkleRoot()).isNotEqualTo(sync(a).getMerkleRoot());
        assertThat(sync(a).getTombstoneCount()).as("no tombstone is collected while D has not seen it").isEqualTo(1);
        assertThat(get(dCat, doomed).getLabelsMap()).containsEntry("late", "yes");

        // ---- the partition heals ------------------------------------------------------------------------------
        for (int i = 0; i < d; i++) {
            network(nets.get(i)).unblacklistPeer(UnblacklistPeerRequest.newBuilder().setCellId(ids.get(d)).build());
            network(nets.get(d)).unblacklistPeer(UnblacklistPeerRequest.newBuilder().setCellId(ids.get(i)).build());
        }
        long t0 = System.nanoTime();
        await("the four replicas converge after the partition heals", 120, () -> converged(cats));
        System.out.printf("catalog: four cells converged %.1f s after the partition healed%n",
                (System.nanoTime() - t0) / 1e9);
        for (ManagedChannel c : cats) {
            assertThatThrownBy(() -> get(c, doomed)).as("the deleted entry stays deleted")
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
            assertThat(get(c, dOnly).getOwnerCellId()).isEqualTo(ids.get(d));
            assertThat(get(c, entries.get(5)).getLabelsMap()).containsEntry("outside", "yes");
            assertThat(get(c, entries.get(1)).getLabelsMap()).containsKey("partition");
        }
        // once every cell has seen the deletion and everything made concurrently with it, its tombstone goes
        await("the tombstone is collected on every cell", 90, () -> cats.stream()
                .allMatch(c -> sync(c).getTombstoneCount() == 0));
        assertThat(converged(cats)).isTrue();
        // an anti-entropy round on request with each other cell finds nothing left to repair (the cells are named:
        // network-service's live-peer list can lag a just-healed cell by a moment)
        var round = catalog(a).runAntiEntropy(RunAntiEntropyRequest.newBuilder().addAllCellIds(ids.subList(1, CELLS))
                .build());
        assertThat(round.getResultsList()).hasSize(d).allSatisfy(r -> {
            assertThat(r.getError()).isEmpty();
            assertThat(r.getInSync()).isTrue();
            assertThat(r.getEntriesReceived()).isZero();
        });
        assertThat(sync(a).getPeersList()).extracting(p -> p.getCellId())
                .containsExactlyInAnyOrderElementsOf(ids.subList(1, CELLS));
        assertThat(Map.copyOf(sync(a).getStableVectorMap())).isNotEmpty();
    }
}
