package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.celluler.cas.chunk.FastCdc;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Ingest;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.core.cas.ContentUpload;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * cas-service ingest, dedup and reads, against the machine's own limits: one stream of {@code --size-mib} MiB of
 * random bytes put through gRPC (to a cas-service started in this JVM, on loopback, with its default settings),
 * next to the speed of {@code MessageDigest} SHA-256 and of FastCDC alone on one core over the same bytes. Then a
 * second version with {@code --changed-percent} of the bytes changed at {@code --places} places: what it stores
 * anew. Then the whole content read back (each chunk verified).
 */
@Command(name = "cas", mixinStandardHelpOptions = true,
        description = "CAS: ingest MB/s vs SHA-256, new bytes for an edited copy, GET MB/s.")
public class CasBench implements Callable<Integer> {

    @Option(names = "--size-mib", defaultValue = "1024")
    int sizeMib;

    @Option(names = "--changed-percent", defaultValue = "1")
    double changedPercent;

    @Option(names = "--places", defaultValue = "100")
    int places;

    @Option(names = "--piece-kib", defaultValue = "1024", description = "bytes per Put message")
    int pieceKib;

    @Option(names = "--cell", defaultValue = "34", description = "cell index of the cell started here")
    int cellIndex;

    @Option(names = "--dir", description = "where the cell keeps its data (default: a new temp folder)")
    Path dir;

    @Option(names = "--warmups", defaultValue = "2", description = "puts of 256 MiB before the measured ones")
    int warmups;

    @Option(names = "--s3-objects", defaultValue = "400", description = "1 MiB objects put and got through the S3 API")
    int s3Objects;

    @Option(names = "--s3-threads", defaultValue = "4", description = "concurrent S3 callers")
    int s3Threads;

    @Override
    public Integer call() throws Exception {
        byte[] data = SplitMix.bytes(42, sizeMib << 20);
        double mib = data.length / (double) (1 << 20);
        System.out.printf("SHA256 one core: %.0f MB/s%n", mib / seconds(() -> sha256(data)));
        FastCdc cdc = new FastCdc(16 * 1024, 64 * 1024, 256 * 1024);
        System.out.printf("FASTCDC one core (16/64/256 KiB): %.0f MB/s%n", mib / seconds(() -> chunkAll(cdc, data)));

        Path home = dir != null ? dir : Files.createTempDirectory("celluler-bench-cas");
        try (Cell cell = Cell.start(Cell.Options.defaults(home).withCellIndex(cellIndex)
                .withServices(List.of("cas-service")).withExtraArgs(List.of("--logging.threshold.console=WARN",
                        "--celluler.cas.gc.enabled=false")))) {
            int port = CellService.ALL.stream().filter(s -> s.name().equals("cas-service")).findFirst().orElseThrow()
                    .grpcPort(cellIndex);
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .maxInboundMessageSize(4 << 20).build();
            try {
                // warm-up of the code paths (the JIT needs a few hundred MB of puts on this machine)
                for (int i = 0; i < warmups; i++) {
                    ContentUpload.put(ch, SplitMix.bytes(7 + i, 256 << 20), pieceKib << 10, PutRequest.getDefaultInstance(),
                            Duration.ofMinutes(5));
                }
                ContentService content = cell.services().stream().filter(r -> r.service().name().equals("cas-service"))
                        .findFirst().orElseThrow().context().getBean(ContentService.class);
                byte[] local = SplitMix.bytes(99, Math.min(data.length, 512 << 20));
                long c0 = cpuNanos();
                long l0 = System.nanoTime();
                try (Ingest in = content.begin(false)) {
                    for (int off = 0; off < local.length; off += pieceKib << 10) {
                        in.write(local, off, Math.min(pieceKib << 10, local.length - off));
                    }
                    in.finish();
                }
                double ls = (System.nanoTime() - l0) / 1e9;
                System.out.printf("CAS ingest in-process (no gRPC, not pinned) size=%dMiB: %.0f MB/s, %.2f cores%n",
                        local.length >> 20, (local.length >> 20) / ls, (cpuNanos() - c0) / 1e9 / ls);

                long cpu1 = cpuNanos();
                long t0 = System.nanoTime();
                PutResponse v1 = ContentUpload.put(ch, data, pieceKib << 10, PutRequest.getDefaultInstance(), Duration.ofMinutes(10));
                double s1 = (System.nanoTime() - t0) / 1e9;
                System.out.printf("CAS ingest size=%dMiB one-stream: %.0f MB/s (%.1f s, %.2f cores) chunks=%d new=%d MB%n", sizeMib,
                        mib / s1, s1, (cpuNanos() - cpu1) / 1e9 / s1, v1.getObject().getChunkCount(), v1.getNewBytes() >> 20);

                long changed = edit(data);
                long t1 = System.nanoTime();
                PutResponse v2 = ContentUpload.put(ch, data, pieceKib << 10, PutRequest.getDefaultInstance(), Duration.ofMinutes(10));
                double s2 = (System.nanoTime() - t1) / 1e9;
                long manifestBytes = 36L * v2.getObject().getChunkCount();
                System.out.printf("CAS second version: %.2f%% changed at %d places (%.1f MB): stored %.1f MB of new chunks"
                                + " in %d chunks + %.1f MB manifest = %.2fx the changed bytes; ingest %.0f MB/s%n", changedPercent,
                        places, changed / 1e6, v2.getNewBytes() / 1e6, v2.getNewChunks(), manifestBytes / 1e6,
                        (v2.getNewBytes() + manifestBytes) / (double) changed, mib / s2);

                long t2 = System.nanoTime();
                long read = 0;
                var it = CasServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.MINUTES)
                        .get(GetRequest.newBuilder().setRoot(v2.getObject().getRoot()).build());
                while (it.hasNext()) {
                    GetResponse r = it.next();
                    read += r.getData().size();
                }
                double s3 = (System.nanoTime() - t2) / 1e9;
                if (read != data.length) {
                    throw new IllegalStateException("read " + read + " bytes back, not " + data.length);
                }
                System.out.printf("CAS get one-stream (verified): %.0f MB/s (%.1f s)%n", mib / s3, s3);
                s3Objects(cell);
            } finally {
                ch.shutdownNow();
            }
        }
        return 0;
    }

    /**
     * PUT and GET of distinct 1 MiB objects through the S3 API (AWS SDK v2, its default HTTP client, path-style,
     * {@code --s3-threads} callers): objects per second.
     */
    private void s3Objects(Cell cell) throws Exception {
        int httpPort = CellService.ALL.stream().filter(s -> s.name().equals("cas-service")).findFirst().orElseThrow()
                .httpPort(cellIndex);
        try (var s3 = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(java.net.URI.create("http://127.0.0.1:" + httpPort))
                .region(software.amazon.awssdk.regions.Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("celluler", "celluler-dev-secret")))
                .httpClient(software.amazon.awssdk.http.apache.ApacheHttpClient.builder().maxConnections(s3Threads).build())
                .build()) {
            s3.createBucket(b -> b.bucket("bench"));
            java.util.List<byte[]> objects = new java.util.ArrayList<>();
            for (int i = 0; i < s3Objects + 50; i++) {
                objects.add(SplitMix.bytes(1000 + i, 1 << 20));
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(s3Threads);
            try {
                // warm-up: 50 of each
                runAll(pool, 50, i -> s3.putObject(b -> b.bucket("bench").key("w" + i),
                        software.amazon.awssdk.core.sync.RequestBody.fromBytes(objects.get(s3Objects + i))));
                runAll(pool, 50, i -> s3.getObjectAsBytes(b -> b.bucket("bench").key("w" + i)));
                long t0 = System.nanoTime();
                runAll(pool, s3Objects, i -> s3.putObject(b -> b.bucket("bench").key("o" + i),
                        software.amazon.awssdk.core.sync.RequestBody.fromBytes(objects.get(i))));
                double put = (System.nanoTime() - t0) / 1e9;
                long t1 = System.nanoTime();
                runAll(pool, s3Objects, i -> {
                    if (s3.getObjectAsBytes(b -> b.bucket("bench").key("o" + i)).asByteArray().length != 1 << 20) {
                        throw new IllegalStateException("short read");
                    }
                });
                double get = (System.nanoTime() - t1) / 1e9;
                System.out.printf("CAS S3 1MiB objects threads=%d: PUT %.0f objects/s, GET %.0f objects/s (%d each)%n", s3Threads,
                        s3Objects / put, s3Objects / get, s3Objects);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static void runAll(java.util.concurrent.ExecutorService pool, int n, java.util.function.IntConsumer task)
            throws Exception {
        java.util.List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            fs.add(pool.submit(() -> task.accept(k)));
        }
        for (var f : fs) {
            f.get();
        }
    }

    /** Changes {@code changedPercent} of the bytes, in {@code places} runs spread evenly; returns the bytes changed. */
    private long edit(byte[] data) {
        long total = (long) (data.length * changedPercent / 100);
        int run = (int) (total / places);
        long stride = data.length / places;
        for (int p = 0; p < places; p++) {
            int at = (int) (p * stride + stride / 2);
            for (int i = 0; i < run && at + i < data.length; i++) {
                data[at + i] ^= (byte) 0xA5;
            }
        }
        return (long) run * places;
    }

    private static void sha256(byte[] data) {
        MessageDigest d = io.celluler.core.hash.Sha256.newDigest();
        for (int off = 0; off < data.length; off += 1 << 20) {
            d.update(data, off, Math.min(1 << 20, data.length - off));
        }
        d.digest();
    }

    private static void chunkAll(FastCdc cdc, byte[] data) {
        int off = 0;
        while (off < data.length) {
            off += cdc.cut(data, off, data.length - off);
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Best of three runs, in seconds. */
    private static double seconds(Runnable r) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        return best;
    }

    /** Deterministic incompressible bytes, fast. */
    static final class SplitMix {
        static byte[] bytes(long seed, int n) {
            byte[] out = new byte[n];
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(out).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long x = seed;
            while (b.remaining() >= 8) {
                x += 0x9E3779B97F4A7C15L;
                long z = x;
                z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
                b.putLong(z ^ (z >>> 31));
            }
            while (b.hasRemaining()) {
                b.put((byte) 1);
            }
            return out;
        }
    }
}
