package io.celluler.network.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.network.engine.Hellos;
import io.celluler.network.p2p.CellCertificates;
import io.celluler.network.p2p.CellTrustManager;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.IdentifyRequest;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import com.google.protobuf.ByteString;
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
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1",
                        "--celluler.network.p2p-port=0");
        ManagedChannel channel = ManagedChannelBuilder
                .forAddress("127.0.0.1", ctx.getBean(GrpcServerLifecycle.class).getPort()).usePlaintext().build();
        try {
            NetworkServiceGrpc.NetworkServiceBlockingStub stub = NetworkServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS);
            // alone in its network
            assertThat(stub.listPeers(ListPeersRequest.getDefaultInstance()).getPeersList()).isEmpty();
            GetCellInfoResponse info = stub.getCellInfo(GetCellInfoRequest.getDefaultInstance());
            identifyOverMutualTls(info);
            return info;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            ctx.close();
        }
    }

    /** The P2P listener speaks only mutual TLS with cell certificates and answers a signed, fresh hello. */
    private void identifyOverMutualTls(GetCellInfoResponse info) throws Exception {
        assertThat(info.getP2PAddressesList()).hasSize(1);
        String[] hostPort = info.getP2PAddresses(0).split(":");
        int port = Integer.parseInt(hostPort[1]);
        CellIdentity dialler = new CellIdentity(Ed25519.newPrivateSeed(new SecureRandom()));
        CellCertificates.TlsIdentity tls = CellCertificates.selfSigned(dialler, Instant.now(), Duration.ofDays(1));
        ManagedChannel p2p = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()
                                .keyManager(tls.privateKey(), tls.certificate()), SslProvider.JDK)
                        .protocols("TLSv1.3").trustManager(new CellTrustManager(info.getCellId(), Clock.systemUTC()))
                        .build())
                .overrideAuthority("cell").build();
        ManagedChannel plaintext = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            byte[] nonce = new byte[16];
            new SecureRandom().nextBytes(nonce);
            Hello hello = P2PServiceGrpc.newBlockingStub(p2p).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .identify(IdentifyRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build()).getHello();

            assertThat(Hellos.verify(hello)).isTrue();
            assertThat(hello.getCellId()).isEqualTo(info.getCellId());
            assertThat(hello.getNonce().toByteArray()).isEqualTo(nonce);
            assertThat(hello.getListenAddressesList()).containsExactly(info.getP2PAddresses(0));
            assertThat(Hellos.verify(hello.toBuilder().setSoftwareVersion("tampered").build())).isFalse();
            assertThatThrownBy(() -> P2PServiceGrpc.newBlockingStub(plaintext).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .identify(IdentifyRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
            assertThatThrownBy(() -> P2PServiceGrpc.newBlockingStub(p2p).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .identify(IdentifyRequest.newBuilder().setNonce(ByteString.copyFrom(new byte[3])).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        } finally {
            p2p.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
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
