package io.celluler.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import io.celluler.cli.cell.Cell;
import io.celluler.core.cas.ContentUpload;
import io.celluler.cli.cell.CellService;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.StatRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What the gateway costs: the same cas-service calls made directly to the service's gRPC port, through the
 * gateway's gRPC pass-through, and through its REST transcoder, against a cell started in this JVM (so client
 * and cell share the machine's cores, as every loopback figure here does).
 *
 * <p>Figures: unary {@code Stat} (closed loop, {@code --concurrency} callers, {@code --seconds} each after a
 * warm-up), {@code Put} of distinct 1 MiB blobs and whole reads of an 8 MiB blob (MB/s).
 */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = "Unary Stat and 1 MiB Put: direct gRPC vs gateway gRPC vs gateway REST.")
public class GatewayBench implements Callable<Integer> {

    @Option(names = "--concurrency", defaultValue = "16")
    int concurrency;

    @Option(names = "--seconds", defaultValue = "10")
    int seconds;

    @Option(names = "--warmup-seconds", defaultValue = "5")
    int warmupSeconds;

    @Option(names = "--put-count", defaultValue = "200", description = "1 MiB blobs per put run")
    int putCount;

    @Option(names = "--get-count", defaultValue = "40", description = "8 MiB reads per get run")
    int getCount;

    @Option(names = "--cell", defaultValue = "30", description = "cell index of the cell started here")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-bench");
        try (Cell cell = Cell.start(Cell.Options.defaults(dir).withCellIndex(cellIndex)
                .withExtraArgs(List.of("--logging.threshold.console=WARN")))) {
            int casPort = CellService.ALL.stream().filter(s -> s.name().equals("cas-service")).findFirst()
                    .orElseThrow().grpcPort(cellIndex);
            ManagedChannel direct = ManagedChannelBuilder.forAddress("127.0.0.1", casPort).usePlaintext().build();
            ManagedChannel viaGateway = ManagedChannelBuilder.forAddress("127.0.0.1", cell.gatewayPort())
                    .usePlaintext().build();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            try {
                byte[] blob = new byte[1024];
                new Random(1).nextBytes(blob);
                String sha = put(direct, blob).getObject().getRoot();
                StatRequest stat = StatRequest.newBuilder().setRoot(sha).build();
                URI statUri = URI.create(cell.gatewayUrl() + "/v1/blobs/" + sha + ":stat");

                report("stat grpc-direct", closedLoop(() -> CasServiceGrpc.newBlockingStub(direct).stat(stat)));
                report("stat grpc-gateway", closedLoop(() -> CasServiceGrpc.newBlockingStub(viaGateway).stat(stat)));
                report("stat rest-gateway", closedLoop(() -> {
                    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(statUri).build(),
                            HttpResponse.BodyHandlers.ofByteArray());
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException("HTTP " + r.statusCode());
                    }
                }));

                putRun("put-1MiB grpc-direct", i -> put(direct, blob(i, 1)));
                putRun("put-1MiB grpc-gateway", i -> put(viaGateway, blob(i, 2)));
                URI putUri = URI.create(cell.gatewayUrl() + "/v1/blobs");
                putRun("put-1MiB rest-gateway", i -> {
                    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(putUri)
                            .PUT(HttpRequest.BodyPublishers.ofByteArray(blob(i, 3))).build(),
                            HttpResponse.BodyHandlers.ofByteArray());
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException("HTTP " + r.statusCode() + " " + new String(r.body()));
                    }
                    return null;
                });

                // reads of one 8 MiB blob: the server stream (gRPC) and the raw download (REST)
                byte[] big = new byte[8 * 1024 * 1024];
                new Random(9).nextBytes(big);
                String bigSha = put(direct, big).getObject().getRoot();
                GetRequest get = GetRequest.newBuilder().setRoot(bigSha).build();
                getRun("get-8MiB grpc-direct", () -> CasServiceGrpc.newBlockingStub(direct).get(get).forEachRemaining(r -> { }));
                getRun("get-8MiB grpc-gateway", () -> CasServiceGrpc.newBlockingStub(viaGateway).get(get).forEachRemaining(r -> { }));
                URI getUri = URI.create(cell.gatewayUrl() + "/v1/blobs/" + bigSha);
                getRun("get-8MiB rest-gateway", () -> {
                    HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(getUri).build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    try (java.io.InputStream in = r.body()) {
                        if (in.transferTo(java.io.OutputStream.nullOutputStream()) != big.length) {
                            throw new IllegalStateException("short read");
                        }
                    }
                });
            } finally {
                direct.shutdownNow();
                viaGateway.shutdownNow();
                http.close();
            }
        }
        return 0;
    }

    private void report(String name, String figures) {
        System.out.printf("BENCH gateway %-22s concurrency=%d seconds=%d %s%n", name, concurrency, seconds, figures);
    }

    private String closedLoop(ClosedLoop.Op op) throws Exception {
        return ClosedLoop.measure(concurrency, warmupSeconds, seconds, op);
    }

    interface PutOp {
        Object put(int i) throws Exception;
    }

    /** Sequential puts of distinct 1 MiB blobs (a new file and row each time). */
    private void putRun(String name, PutOp op) throws Exception {
        for (int i = 0; i < Math.max(5, putCount / 10); i++) {
            op.put(-1 - i - name.hashCode() % 1000 * 1000);
        }
        long[] lat = new long[putCount];
        long t0 = System.nanoTime();
        for (int i = 0; i < putCount; i++) {
            long s = System.nanoTime();
            op.put(i);
            lat[i] = System.nanoTime() - s;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        java.util.Arrays.sort(lat);
        System.out.printf("BENCH gateway %-22s blobs=%d MB/s=%.1f p50=%.2fms p99=%.2fms%n", name, putCount,
                putCount * 1.048576 / secs, lat[putCount / 2] / 1e6, lat[(int) Math.ceil(putCount * 0.99) - 1] / 1e6);
    }

    /** Sequential whole reads of the 8 MiB blob: warm-up, then {@code --get-count} measured. */
    private void getRun(String name, ClosedLoop.Op op) throws Exception {
        for (int i = 0; i < 5; i++) {
            op.run();
        }
        long[] lat = new long[getCount];
        long t0 = System.nanoTime();
        for (int i = 0; i < getCount; i++) {
            long s = System.nanoTime();
            op.run();
            lat[i] = System.nanoTime() - s;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        java.util.Arrays.sort(lat);
        System.out.printf("BENCH gateway %-22s reads=%d MB/s=%.1f p50=%.2fms p99=%.2fms%n", name, getCount,
                getCount * 8 * 1.048576 / secs, lat[getCount / 2] / 1e6, lat[(int) Math.ceil(getCount * 0.99) - 1] / 1e6);
    }

    private static PutResponse put(ManagedChannel channel, byte[] data) throws Exception {
        return ContentUpload.put(channel, data, 256 * 1024, PutRequest.getDefaultInstance(), Duration.ofSeconds(60));
    }

    private static byte[] blob(int i, int run) {
        byte[] b = new byte[1024 * 1024];
        new Random(i * 31L + run * 1_000_003L).nextBytes(b);
        return b;
    }

}
