package io.celluler.cas.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.celluler.cas.CasServiceApplication;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.cas.ContentUpload;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * DESIGN §8, "a write is acknowledged only after it is durable": cas-service runs in a child JVM on its
 * embedded default (H2 file + files), takes puts, and is killed with SIGKILL right after the last
 * acknowledgement; restarted on the same data dir, it must still serve all acknowledged content, byte for byte.
 */
class CasCrashIT {

    @TempDir
    Path dataDir;

    @Test
    void everyAcknowledgedPutSurvivesAKill() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), CasServiceApplication.class.getName(),
                "--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                "--spring.grpc.server.port=" + port, "--spring.grpc.server.host=127.0.0.1"));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dataDir.resolve("child.log").toFile()).start();
        java.util.Map<String, byte[]> acknowledged = new java.util.LinkedHashMap<>();
        try {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> canConnect(port));
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
            try {
                for (int i = 0; i < 30; i++) {
                    byte[] data = new byte[20_000 + i];
                    new Random(i).nextBytes(data);
                    String root = ContentUpload.put(channel, data, data.length, PutRequest.getDefaultInstance(),
                            Duration.ofSeconds(30)).getObject().getRoot();
                    acknowledged.put(root, data);
                }
            } finally {
                channel.shutdownNow();
            }
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
            child.waitFor(30, TimeUnit.SECONDS);
        }

        ConfigurableApplicationContext restarted = CellulerApplication
                .builder(CasServiceApplication.class, CasServiceApplication.NAME)
                .run("--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1");
        ManagedChannel channel = ManagedChannelBuilder
                .forAddress("127.0.0.1", restarted.getBean(GrpcServerLifecycle.class).getPort()).usePlaintext().build();
        try {
            assertThat(acknowledged).hasSize(30);
            for (var e : acknowledged.entrySet()) {
                byte[] data = e.getValue();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                CasServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .get(GetRequest.newBuilder().setRoot(e.getKey()).build())
                        .forEachRemaining(r -> got.writeBytes(r.getData().toByteArray()));
                assertThat(got.toByteArray()).isEqualTo(data);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            restarted.close();
        }
    }

    private static boolean canConnect(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }

}
