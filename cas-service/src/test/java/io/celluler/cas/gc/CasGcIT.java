package io.celluler.cas.gc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.celluler.cas.CasServiceApplication;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.cas.ContentUpload;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.DeleteRequest;
import io.celluler.proto.cas.v1.GetManifestRequest;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * The garbage collector on a running cas-service (H2 file database, real gRPC on loopback): what nothing
 * references goes after the grace period, what is referenced or held by an upload in progress stays. Passes are
 * run by the test with a clock of its own (the scheduler is off), so "two hours later" takes no time.
 */
class CasGcIT {

    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext context;
    private ManagedChannel channel;
    private GarbageCollector gc;

    @BeforeEach
    void start() {
        context = CellulerApplication.builder(CasServiceApplication.class, CasServiceApplication.NAME)
                .run("--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1",
                        "--celluler.cas.gc.enabled=false", "--celluler.cas.gc.grace=1h");
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", context.getBean(GrpcServerLifecycle.class).getPort())
                .usePlaintext().build();
        gc = context.getBean(GarbageCollector.class);
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        context.close();
    }

    private CasServiceGrpc.CasServiceBlockingStub cas() {
        return CasServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private String put(byte[] data) throws Exception {
        return ContentUpload.put(channel, data, 64 * 1024, PutRequest.getDefaultInstance(), Duration.ofSeconds(30))
                .getObject().getRoot();
    }

    private byte[] get(String root) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cas().get(GetRequest.newBuilder().setRoot(root).build()).forEachRemaining(r -> out.writeBytes(r.getData().toByteArray()));
        return out.toByteArray();
    }

    private List<String> chunksOf(String root) {
        return cas().getManifest(GetManifestRequest.newBuilder().setRoot(root).build()).getChunksList().stream()
                .map(c -> c.getSha256()).toList();
    }

    private Path chunkFile(String sha) {
        return dataDir.resolve("cas-service/store/chunks").resolve(sha.substring(0, 2)).resolve(sha.substring(2, 4)).resolve(sha);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void unreferencedContentGoesAfterTheGracePeriodAndSharedChunksStay() throws Exception {
        byte[] a = random(600_000, 1);
        byte[] b = a.clone(); // b shares most chunks with a: the first 400 KB differ
        System.arraycopy(random(400_000, 2), 0, b, 0, 400_000);
        String rootA = put(a);
        String rootB = put(b);
        List<String> onlyA = new ArrayList<>(chunksOf(rootA));
        onlyA.removeAll(chunksOf(rootB));
        assertThat(onlyA).isNotEmpty();
        assertThat(chunksOf(rootA)).hasSizeGreaterThan(onlyA.size()); // some are shared

        cas().delete(DeleteRequest.newBuilder().setRoot(rootA).build());
        Instant now = Instant.now();

        assertThat(gc.runPass(now)).isEqualTo(new GarbageCollector.Pass(0, 0, 0, 0, 0)); // within the grace period
        GarbageCollector.Pass later = gc.runPass(now.plus(Duration.ofHours(2)));
        assertThat(later.manifests()).isEqualTo(1);
        assertThat(later.chunks()).isZero(); // the chunks' own grace period starts when the manifest goes
        GarbageCollector.Pass evenLater = gc.runPass(now.plus(Duration.ofHours(4)));
        assertThat(evenLater.chunks()).isEqualTo(onlyA.size());
        assertThat(evenLater.bytes()).isPositive();

        onlyA.forEach(h -> assertThat(chunkFile(h)).doesNotExist());
        assertThat(get(rootB)).isEqualTo(b);
        assertThat(gc.runPass(now.plus(Duration.ofHours(6)))).isEqualTo(new GarbageCollector.Pass(0, 0, 0, 0, 0));
    }

    @Test
    void uploadsRacingTheCollectorLoseNothing() throws Exception {
        // content whose chunks are collectable at every pass (deleted, and the clock hours ahead), uploaded again and
        // again while passes run back to back: every acknowledged upload must read back whole
        byte[] data = random(2_000_000, 3);
        String root = put(data);
        cas().delete(DeleteRequest.newBuilder().setRoot(root).build());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger passes = new AtomicInteger();
        AtomicInteger removed = new AtomicInteger();
        Thread collector = Thread.ofPlatform().start(() -> {
            long hours = 2;
            while (!stop.get()) {
                GarbageCollector.Pass p = gc.runPass(Instant.now().plus(Duration.ofHours(hours++)));
                removed.addAndGet(p.chunks() + p.manifests());
                passes.incrementAndGet();
            }
        });
        try {
            for (int i = 0; i < 20; i++) {
                String again = put(data);
                assertThat(again).isEqualTo(root);
                assertThat(get(again)).as("round %d", i).isEqualTo(data);
                cas().delete(DeleteRequest.newBuilder().setRoot(again).build());
            }
        } finally {
            stop.set(true);
            collector.join(30_000);
        }
        assertThat(passes.get()).isGreaterThan(1);
        assertThat(removed.get()).as("the collector did remove content between the uploads").isPositive();
    }

    @Test
    void chunkFilesWithoutARowGoOnlyOnceOlderThanTheGracePeriod() throws Exception {
        String root = put(random(100_000, 4));
        byte[] strayOld = random(5000, 5);
        byte[] strayNew = random(5000, 6);
        Path old = write(strayOld);
        Path fresh = write(strayNew);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(3))));

        // every folder of the store is walked by enough passes (256 per pass, 65,536 folders)
        int orphans = 0;
        for (int i = 0; i < 256; i++) {
            orphans += gc.runPass(Instant.now()).orphans();
        }

        assertThat(orphans).isEqualTo(1);
        assertThat(old).doesNotExist();
        assertThat(fresh).exists();
        chunksOf(root).forEach(h -> assertThat(chunkFile(h)).exists());
    }

    private Path write(byte[] data) throws Exception {
        Path p = chunkFile(Sha256.hexOf(data));
        Files.createDirectories(p.getParent());
        Files.write(p, data);
        return p;
    }
}
