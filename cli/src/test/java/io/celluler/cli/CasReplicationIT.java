package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.celluler.cli.cell.CellService;
import io.celluler.core.cas.ContentUpload;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.ChunkRef;
import io.celluler.proto.cas.v1.DeleteRequest;
import io.celluler.proto.cas.v1.ErasureCoding;
import io.celluler.proto.cas.v1.GetManifestRequest;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.ReplicaCopy;
import io.celluler.proto.cas.v1.ShardCopy;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.StatResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5 "done when", replication and repair between real cell processes on loopback: {@code celluler up --cells 4
 * --services network-service,cas-service}. Content put on cell 0 with a replication factor of 3 gets complete copies
 * on two other cells; a chunk corrupted on disk on a copy is detected on read, quarantined and fetched again from
 * another cell (the read returns the right bytes); cell 0's whole chunk folder deleted is rebuilt by anti-entropy
 * from the copies; a cell keeping a copy killed (SIGKILL), the copy goes to the fourth cell; and unpinned, the
 * content's copies are released. Erasure-coded content (2+1) gets one shard index on each other cell, survives the
 * loss of cell 0's chunks (on read and by anti-entropy) and, after that, of one shard keeper as well.
 */
class CasReplicationIT {

    static final int FIRST = 25;
    static final int CELLS = 4;
    static final CellService CAS = CellService.ALL.stream().filter(s -> s.name().equals("cas-service")).findFirst().orElseThrow();

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) // a failed run leaves the cells' logs
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();
    Process network;

    @AfterEach
    void stop() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        if (network != null) {
            network.destroy();
            if (!network.waitFor(60, TimeUnit.SECONDS)) {
                network.destroyForcibly();
            }
        }
    }

    CasServiceGrpc.CasServiceBlockingStub cas(int k) {
        return CasServiceGrpc.newBlockingStub(channels.get(k)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(250))
                .ignoreExceptions().until(condition::getAsBoolean);
    }

    byte[] get(int k, String root) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cas(k).get(GetRequest.newBuilder().setRoot(root).build()).forEachRemaining(r -> out.writeBytes(r.getData().toByteArray()));
        return out.toByteArray();
    }

    Path chunkFile(int k, String sha256) {
        return chunks(k).resolve(sha256.substring(0, 2)).resolve(sha256.substring(2, 4)).resolve(sha256);
    }

    Path chunks(int k) {
        return dataDir.resolve("cell-" + k).resolve("cas-service/store/chunks");
    }

    boolean allChunksOn(int k, List<ChunkRef> refs) {
        return refs.stream().allMatch(c -> Files.isRegularFile(chunkFile(k, c.getSha256())));
    }

    /** The cells that say they keep a complete copy, by index. */
    List<Integer> completeCopies(StatResponse stat, List<String> ids) {
        return stat.getReplicasList().stream().filter(ReplicaCopy::getComplete).map(c -> ids.indexOf(c.getCellId())).sorted()
                .toList();
    }

    double metric(int k, String name) {
        String body;
        try {
            body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + CAS.httpPort(FIRST + k) + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (java.io.IOException | InterruptedException e) {
            throw new IllegalStateException("cell " + k + "'s metrics", e);
        }
        return body.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{")).mapToDouble(
                l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /** The cells of a network started by {@link #up}: their process ids and cell ids, by index. */
    record Cells(List<Long> pids, List<String> ids) {
    }

    /** {@code celluler up} with 4 cells (network-service and cas-service each), anti-entropy every second. */
    Cells up() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-jar",
                jar.toString(), "up", "--cells", String.valueOf(CELLS), "--cell", String.valueOf(FIRST), "--services",
                "network-service,cas-service", "--data-dir", dataDir.toString(),
                "--set", "celluler.cas.replication.interval=1s", "--set", "celluler.cas.replication.call-timeout=5s",
                // holders re-check their copies with cell 0 every pass: a wanted copy must survive it
                "--set", "celluler.cas.replication.hold-recheck-after=1s");
        network = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = UpOutput.untilUp(network);
        assertThat(output).contains("Network of 4 cells up");
        Matcher m = Pattern.compile("^\\s+(\\d)\\s+(\\d+)\\s+\\S+\\s+\\S+\\s+([0-9a-f]{64})$", Pattern.MULTILINE).matcher(output);
        List<Long> pids = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        while (m.find()) {
            pids.add(Long.parseLong(m.group(2)));
            ids.add(m.group(3));
        }
        assertThat(ids).hasSize(CELLS);
        for (int k = 0; k < CELLS; k++) {
            channels.add(ManagedChannelBuilder.forAddress("127.0.0.1", CAS.grpcPort(FIRST + k)).usePlaintext()
                    .maxInboundMessageSize(8 << 20).build());
        }
        return new Cells(pids, ids);
    }

    void deleteChunkFolder(int k) throws java.io.IOException {
        try (Stream<Path> all = Files.walk(chunks(k))) {
            all.sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(chunks(k))).forEach(p -> p.toFile().delete());
        }
    }

    /** Bytes and files in cell {@code k}'s chunk folder. */
    long[] chunkFolder(int k) {
        try (Stream<Path> all = Files.walk(chunks(k))) {
            long[] out = new long[2];
            all.filter(Files::isRegularFile).forEach(p -> {
                out[0] += p.toFile().length();
                out[1]++;
            });
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void copiesAreKeptOnOtherCellsAndLostChunksRepairedFromThem() throws Exception {
        Cells cells = up();
        List<Long> pids = cells.pids();
        List<String> ids = cells.ids();

        // 3 MB on cell 0, wanted in 3 copies: two other cells keep complete copies
        byte[] data = new byte[3_000_000];
        new Random(5).nextBytes(data);
        String root = ContentUpload.put(channels.get(0), data, 256 * 1024,
                PutRequest.newBuilder().setReplicationFactor(3).build(), Duration.ofSeconds(60)).getObject().getRoot();
        List<ChunkRef> refs = cas(0).getManifest(GetManifestRequest.newBuilder().setRoot(root).build()).getChunksList();
        long t0 = System.nanoTime();
        await("two complete copies", 120, () -> completeCopies(cas(0).stat(StatRequest.newBuilder().setRoot(root).build()), ids)
                .size() == 2);
        System.out.printf("CAS replication: 2 copies of %d bytes (%d chunks) complete %.1f s after the put%n", data.length,
                refs.size(), (System.nanoTime() - t0) / 1e9);
        StatResponse stat = cas(0).stat(StatRequest.newBuilder().setRoot(root).build());
        assertThat(stat.getReplicationFactor()).isEqualTo(3);
        List<Integer> holders = completeCopies(stat, ids);
        assertThat(holders).doesNotContain(0);
        for (int k : holders) {
            assertThat(allChunksOn(k, refs)).as("cell %d holds every chunk", k).isTrue();
            assertThat(get(k, root)).as("cell %d serves the content", k).isEqualTo(data);
        }

        // a chunk corrupted on a copy: the read there detects it, quarantines it, fetches it again, serves right bytes
        int copy = holders.get(0);
        String victim = refs.get(refs.size() / 2).getSha256();
        Path file = chunkFile(copy, victim);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 3] ^= 0x40;
        Files.write(file, bytes);
        assertThat(get(copy, root)).isEqualTo(data);
        assertThat(Files.readAllBytes(file)).as("repaired in place").isEqualTo(Files.readAllBytes(chunkFile(0, victim)));
        try (Stream<Path> q = Files.list(dataDir.resolve("cell-" + copy).resolve("cas-service/store/quarantine"))) {
            assertThat(q.map(p -> p.getFileName().toString())).singleElement().asString().startsWith(victim);
        }
        assertThat(metric(copy, "celluler_cas_repair_chunks_total")).isGreaterThanOrEqualTo(1);

        // cell 0's whole chunk folder deleted: anti-entropy rebuilds it from the copies
        deleteChunkFolder(0);
        assertThat(allChunksOn(0, refs)).isFalse();
        long t1 = System.nanoTime();
        await("cell 0's chunks rebuilt", 120, () -> allChunksOn(0, refs));
        System.out.printf("CAS repair: %d chunks of a deleted chunk folder rebuilt from other cells in %.1f s%n", refs.size(),
                (System.nanoTime() - t1) / 1e9);
        assertThat(get(0, root)).isEqualTo(data);

        // a cell keeping a copy is killed: the copy goes to the one cell left, so 3 copies live again
        int killed = holders.get(1);
        int spare = List.of(1, 2, 3).stream().filter(k -> !holders.contains(k)).findFirst().orElseThrow();
        ProcessHandle.of(pids.get(killed)).orElseThrow().destroyForcibly();
        long t2 = System.nanoTime();
        await("a copy on cell " + spare, 120, () -> completeCopies(cas(0).stat(StatRequest.newBuilder().setRoot(root).build()), ids)
                .contains(spare));
        System.out.printf("CAS replication: a copy lost with its cell was placed again on another in %.1f s%n",
                (System.nanoTime() - t2) / 1e9);
        assertThat(get(spare, root)).isEqualTo(data);

        // unpinned on cell 0: the live copies are released
        cas(0).delete(DeleteRequest.newBuilder().setRoot(root).build());
        await("copies released", 60, () -> metric(0, "celluler_cas_replication_copies_released_total") >= 2);
    }

    @Test
    void erasureCodedContentOutlivesItsChunksAndAnyMCellsKeepingShards() throws Exception {
        Cells cells = up();
        List<String> ids = cells.ids();

        // 3 MB on cell 0 coded 2+1: the three other cells keep one shard index each, about half the content each
        byte[] data = new byte[3_000_000];
        new Random(6).nextBytes(data);
        ErasureCoding twoPlusOne = ErasureCoding.newBuilder().setDataShards(2).setParityShards(1).build();
        String root = ContentUpload.put(channels.get(0), data, 256 * 1024, PutRequest.newBuilder().setErasure(twoPlusOne).build(),
                Duration.ofSeconds(60)).getObject().getRoot();
        List<ChunkRef> refs = cas(0).getManifest(GetManifestRequest.newBuilder().setRoot(root).build()).getChunksList();
        long t0 = System.nanoTime();
        await("three complete shard indexes", 120, () -> cas(0).stat(StatRequest.newBuilder().setRoot(root).build())
                .getShardsList().stream().filter(ShardCopy::getComplete).count() == 3);
        System.out.printf("CAS erasure coding: 3 shard indexes (2+1) of %d bytes (%d chunks) complete %.1f s after the put%n",
                data.length, refs.size(), (System.nanoTime() - t0) / 1e9);
        StatResponse stat = cas(0).stat(StatRequest.newBuilder().setRoot(root).build());
        assertThat(stat.getErasure()).isEqualTo(twoPlusOne);
        assertThat(stat.getReplicasList()).as("shards, not copies").isEmpty();
        assertThat(stat.getShardsList().stream().map(ShardCopy::getShardIndex)).containsExactlyInAnyOrder(0, 1, 2);
        List<Integer> holders = stat.getShardsList().stream().sorted(java.util.Comparator.comparingInt(ShardCopy::getShardIndex))
                .map(c -> ids.indexOf(c.getCellId())).toList();
        assertThat(holders).as("three distinct other cells, by shard index").doesNotHaveDuplicates().doesNotContain(0, -1);
        long kept = 0;
        for (int k : holders) {
            long[] folder = chunkFolder(k);
            assertThat(folder[1]).as("cell %d keeps one shard per chunk", k).isEqualTo(refs.size());
            assertThat(folder[0]).as("cell %d keeps about half of the content", k).isBetween(data.length / 2L, data.length / 2L + refs.size());
            kept += folder[0];
        }
        System.out.printf("CAS erasure coding: %d bytes of shards on other cells for %d bytes of content (%.2fx; 2 more copies: 2x)%n",
                kept, data.length, kept / (double) data.length);

        // a cell keeping a shard index loses its folder: the scrub there finds the shards gone, fetches them again
        int parityHolder = holders.get(2);
        long[] before = chunkFolder(parityHolder);
        deleteChunkFolder(parityHolder);
        long t1 = System.nanoTime();
        await("cell " + parityHolder + "'s shards fetched again", 120, () -> java.util.Arrays.equals(chunkFolder(parityHolder), before));
        System.out.printf("CAS erasure coding: a deleted folder of %d shards fetched again from the origin in %.1f s%n",
                before[1], (System.nanoTime() - t1) / 1e9);

        // cell 0's chunk folder deleted: a read rebuilds each chunk from shards at once, anti-entropy all of them
        deleteChunkFolder(0);
        assertThat(get(0, root)).as("read while rebuilt from shards").isEqualTo(data);
        await("cell 0's chunks rebuilt", 120, () -> allChunksOn(0, refs));
        assertThat(metric(0, "celluler_cas_erasure_chunks_rebuilt_total")).isGreaterThanOrEqualTo(refs.size());

        // one cell keeping a shard index killed (m = 1) and cell 0's chunks lost again: the other two shards suffice
        ProcessHandle.of(cells.pids().get(holders.get(0))).orElseThrow().destroyForcibly();
        await("the content is seen under-protected", 120, () -> metric(0, "celluler_cas_erasure_under") == 1);
        deleteChunkFolder(0);
        long t2 = System.nanoTime();
        await("cell 0's chunks rebuilt from the two shards left", 180, () -> allChunksOn(0, refs));
        System.out.printf("CAS erasure coding: %d chunks rebuilt from 2 of 3 shard indexes (one cell killed) in %.1f s%n",
                refs.size(), (System.nanoTime() - t2) / 1e9);
        assertThat(get(0, root)).isEqualTo(data);

        // unpinned on cell 0: the live cells release their shards
        cas(0).delete(DeleteRequest.newBuilder().setRoot(root).build());
        await("shards released", 60, () -> metric(0, "celluler_cas_erasure_shards_released_total") >= 2);
    }
}
