package io.celluler.network.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.NetworkServiceApplication;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.GetCellInfoResponse;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/** Issue 3 §1: the cell's Ed25519 identity, created on first start, private on disk, the same after a restart. */
class NetworkIdentityIT {

    @TempDir
    Path dataDir;

    private GetCellInfoResponse cellInfoFromAFreshStart() throws Exception {
        ConfigurableApplicationContext ctx = CellulerApplication
                .builder(NetworkServiceApplication.class, NetworkServiceApplication.NAME)
                .run("--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1");
        ManagedChannel channel = ManagedChannelBuilder
                .forAddress("127.0.0.1", ctx.getBean(GrpcServerLifecycle.class).getPort()).usePlaintext().build();
        try {
            NetworkServiceGrpc.NetworkServiceBlockingStub stub = NetworkServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> stub.listPeers(ListPeersRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
            return stub.getCellInfo(GetCellInfoRequest.getDefaultInstance());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            ctx.close();
        }
    }

    @Test
    void theCellIdIsTheHashOfItsKeyAndSurvivesARestart() throws Exception {
        GetCellInfoResponse first = cellInfoFromAFreshStart();
        GetCellInfoResponse second = cellInfoFromAFreshStart();

        assertThat(first.getCellId()).isEqualTo(CellIdentity.cellIdOf(first.getPublicKey().toByteArray())).hasSize(64);
        assertThat(first.getPublicKey().size()).isEqualTo(32);
        assertThat(second.getCellId()).isEqualTo(first.getCellId());
        assertThat(first.getCapabilitiesList()).anySatisfy(c -> {
            assertThat(c.getService()).isEqualTo("catalog-service");
            assertThat(c.getApiVersionsList()).containsExactly("celluler.catalog.v1");
        });
        assertThat(first.getVersion()).isNotBlank();
        Path key = dataDir.resolve("network-service/identity/cell.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    }
}
