package io.celluler.cas.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.google.rpc.BadRequest;
import io.celluler.cas.CasServiceApplication;
import io.celluler.core.cas.BlobUpload;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.ListRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * cas-service over real gRPC on loopback, on its embedded default (H2 file + local filesystem). The same
 * scenarios run against PostgreSQL in {@link CasPostgresIT}.
 */
class CasGrpcIT {

    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext context;
    private ManagedChannel channel;

    /** Extra arguments for the context; overridden by the PostgreSQL variant. */
    protected List<String> extraArgs() {
        return List.of();
    }

    protected void start() {
        List<String> args = new ArrayList<>(List.of(
                "--celluler.data-dir=" + dataDir,
                "--server.port=0",
                "--server.address=127.0.0.1",
                "--spring.grpc.server.port=0",
                "--spring.grpc.server.host=127.0.0.1",
                "--celluler.cas.max-blob-size=2MB",
                "--celluler.cas.read-chunk-size=64KB"));
        args.addAll(extraArgs());
        context = CellulerApplication.builder(CasServiceApplication.class, CasServiceApplication.NAME)
                .run(args.toArray(String[]::new));
        int port = context.getBean(GrpcServerLifecycle.class).getPort();
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    protected void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            channel = null;
        }
        if (context != null) {
            context.close();
            context = null;
        }
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        stop();
    }

    private CasServiceGrpc.CasServiceBlockingStub blocking() {
        return CasServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Client-streams {@code data} in pieces of {@code pieceSize}; the first message carries {@code first}'s fields. */
    private PutResponse put(byte[] data, int pieceSize, PutRequest first) throws Exception {
        return BlobUpload.put(channel, data, pieceSize, first, Duration.ofSeconds(30));
    }

    private byte[] get(String sha256) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Iterator<GetResponse> it = blocking().get(GetRequest.newBuilder().setSha256(sha256).build());
        it.forEachRemaining(r -> out.writeBytes(r.getData().toByteArray()));
        return out.toByteArray();
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void putStreamsInGetStreamsOutStatDescribes() throws Exception {
        start();
        byte[] data = randomBytes(1_500_000, 1);
        String expected = Sha256.hexOf(data);

        PutResponse put = put(data, 100_000,
                PutRequest.newBuilder().setExpectedSha256(expected).setMediaType("application/octet-stream").build());

        assertThat(put.getBlob().getSha256()).isEqualTo(expected);
        assertThat(put.getBlob().getSizeBytes()).isEqualTo(data.length);
        assertThat(put.getAlreadyExisted()).isFalse();
        assertThat(get(expected)).isEqualTo(data);
        var stat = blocking().stat(StatRequest.newBuilder().setSha256(expected).build()).getBlob();
        assertThat(stat.getSizeBytes()).isEqualTo(data.length);
        assertThat(stat.getMediaType()).isEqualTo("application/octet-stream");
        // the server streams in read-chunk-size pieces, metadata on the first only
        List<GetResponse> pieces = new ArrayList<>();
        blocking().get(GetRequest.newBuilder().setSha256(expected).build()).forEachRemaining(pieces::add);
        assertThat(pieces).hasSize((data.length + 65535) / 65536);
        assertThat(pieces.get(0).hasBlob()).isTrue();
        assertThat(pieces.get(1).hasBlob()).isFalse();
    }

    @Test
    void theSameBytesAreStoredOnce() throws Exception {
        start();
        byte[] data = randomBytes(10_000, 2);

        PutResponse first = put(data, 4096, PutRequest.getDefaultInstance());
        PutResponse second = put(data, 1000, PutRequest.newBuilder().setMediaType("text/plain").build());

        assertThat(second.getAlreadyExisted()).isTrue();
        assertThat(second.getBlob()).isEqualTo(first.getBlob());
        Path blobs = dataDir.resolve("cas-service/blobs/sha256");
        try (var files = Files.walk(blobs)) {
            assertThat(files.filter(Files::isRegularFile).count()).isEqualTo(1);
        }
    }

    @Test
    void blobSurvivesARestart() throws Exception {
        start();
        byte[] data = randomBytes(300_000, 3);
        String sha = put(data, 65536, PutRequest.getDefaultInstance()).getBlob().getSha256();

        stop();
        start();

        assertThat(get(sha)).isEqualTo(data);
        assertThat(blocking().stat(StatRequest.newBuilder().setSha256(sha).build()).getBlob().getSizeBytes())
                .isEqualTo(data.length);
    }

    @Test
    void emptyBlobIsRefusedNamingTheField() throws Exception {
        start();

        assertThatThrownBy(() -> put(new byte[0], 1, PutRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(fieldViolations(e)).containsExactly("data");
                    assertThat(e.getStatus().getDescription()).contains("empty");
                });
        assertNothingStored();
    }

    @Test
    void oversizedBlobIsRefusedAndNothingIsKept() throws Exception {
        start();
        byte[] tooBig = randomBytes(2 * 1024 * 1024 + 1, 4);

        assertThatThrownBy(() -> put(tooBig, 256 * 1024, PutRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains("maximum size of 2097152 bytes");
                });
        assertNothingStored();
    }

    @Test
    void hashMismatchIsRefusedAndNothingIsKept() throws Exception {
        start();
        String wrong = Sha256.hexOf("something else".getBytes());

        assertThatThrownBy(() -> put(randomBytes(5000, 5), 1000,
                PutRequest.newBuilder().setExpectedSha256(wrong).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(fieldViolations(e)).containsExactly("expected_sha256");
                });
        assertThatThrownBy(() -> put(randomBytes(10, 5), 10,
                PutRequest.newBuilder().setExpectedSha256("XYZ").build()))
                .hasMessageContaining("expected_sha256: must be 64 lowercase hex characters");
        assertNothingStored();
    }

    @Test
    void unknownHashIsNotFoundAndMalformedHashIsInvalid() throws Exception {
        start();
        String unknown = Sha256.hexOf("never stored".getBytes());

        assertThatThrownBy(() -> blocking().stat(StatRequest.newBuilder().setSha256(unknown).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> get(unknown))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> get("../../etc/passwd"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(fieldViolations(e)).containsExactly("sha256");
                });
    }

    @Test
    void corruptBytesOnDiskAreNeverServedAsGood() throws Exception {
        start();
        byte[] data = randomBytes(200_000, 6);
        String sha = put(data, 65536, PutRequest.getDefaultInstance()).getBlob().getSha256();
        Path file = dataDir.resolve("cas-service/blobs/sha256").resolve(sha.substring(0, 2))
                .resolve(sha.substring(2, 4)).resolve(sha);
        byte[] corrupt = data.clone();
        corrupt[123_456] ^= 1;
        Files.write(file, corrupt);

        assertThatThrownBy(() -> get(sha))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));
    }

    @Test
    void unbuiltRpcAnswersUnimplementedNamingTheIssueArea() {
        start();

        assertThatThrownBy(() -> blocking().list(ListRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
                    assertThat(e.getStatus().getDescription())
                            .startsWith("celluler.cas.v1.CasService/List is not implemented yet in cas-service")
                            .contains("the CAS issue");
                });
    }

    private void assertNothingStored() throws Exception {
        try (var files = Files.walk(dataDir.resolve("cas-service/blobs"))) {
            assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    private static List<String> fieldViolations(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        assertThat(status).as("google.rpc.Status details").isNotNull();
        List<String> fields = new ArrayList<>();
        for (var any : status.getDetailsList()) {
            if (any.is(BadRequest.class)) {
                try {
                    any.unpack(BadRequest.class).getFieldViolationsList().forEach(v -> fields.add(v.getField()));
                } catch (com.google.protobuf.InvalidProtocolBufferException bad) {
                    throw new AssertionError("undecodable BadRequest detail", bad);
                }
            }
        }
        return fields;
    }
}
