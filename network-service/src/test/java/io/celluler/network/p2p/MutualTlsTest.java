package io.celluler.network.p2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLSession;

import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.p2p.v1.IdentifyRequest;
import io.celluler.proto.p2p.v1.IdentifyResponse;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 3 §2: links between cells are mutual TLS 1.3 where each side's certificate is bound to its cell key —
 * no CA; a peer is authenticated by the cell id its key derives to, and a dialler that expects a given cell
 * refuses any other. Real gRPC over loopback.
 */
class MutualTlsTest {

    private final Clock clock = Clock.systemUTC();
    private Server server;
    private ManagedChannel channel;

    static CellIdentity newCell() {
        return new CellIdentity(Ed25519.newPrivateSeed(new SecureRandom()));
    }

    private static final io.grpc.Context.Key<String> PEER = io.grpc.Context.key("peer-cell-id");

    /** Starts a P2P server for {@code cell} whose Identify answers the caller's authenticated cell id. */
    private int startServer(CellIdentity cell) throws Exception {
        CellCertificates.TlsIdentity tls = CellCertificates.selfSigned(cell, clock.instant(), Duration.ofDays(365));
        SslContext ssl = GrpcSslContexts.configure(SslContextBuilder.forServer(tls.privateKey(), tls.certificate()),
                        SslProvider.JDK)
                .protocols("TLSv1.3").clientAuth(ClientAuth.REQUIRE)
                .trustManager(new CellTrustManager(null, clock)).build();
        ServerInterceptor authenticatedPeer = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                try {
                    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
                    String peer = CellCertificates.cellIdOf((X509Certificate) session.getPeerCertificates()[0],
                            clock.instant()) + " " + session.getProtocol();
                    return Contexts.interceptCall(io.grpc.Context.current().withValue(PEER, peer), call, headers, next);
                } catch (Exception e) {
                    call.close(Status.UNAUTHENTICATED.withDescription(e.getMessage()), new Metadata());
                    return new ServerCall.Listener<>() { };
                }
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(ssl)
                .addService(ServerInterceptors.intercept(new P2PServiceGrpc.P2PServiceImplBase() {
                    @Override
                    public void identify(IdentifyRequest request, StreamObserver<IdentifyResponse> responses) {
                        responses.onNext(IdentifyResponse.newBuilder()
                                .setHello(io.celluler.proto.p2p.v1.Hello.newBuilder().setCellId(PEER.get())).build());
                        responses.onCompleted();
                    }
                }, authenticatedPeer))
                .build().start();
        return server.getPort();
    }

    private P2PServiceGrpc.P2PServiceBlockingStub dial(CellIdentity me, int port, String expected) throws Exception {
        CellCertificates.TlsIdentity tls = CellCertificates.selfSigned(me, clock.instant(), Duration.ofDays(365));
        SslContext ssl = GrpcSslContexts.configure(SslContextBuilder.forClient()
                        .keyManager(tls.privateKey(), tls.certificate()), SslProvider.JDK)
                .protocols("TLSv1.3").trustManager(new CellTrustManager(expected, clock)).build();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl)
                // the certificate names no host: identity is the key, checked by the trust manager
                .overrideAuthority("cell").build();
        return P2PServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void bothSidesAuthenticateEachOtherByCellId() throws Exception {
        CellIdentity a = newCell();
        CellIdentity b = newCell();
        int port = startServer(b);

        IdentifyResponse answer = dial(a, port, b.cellId()).identify(IdentifyRequest.getDefaultInstance());

        // the server saw the client as cell a, proven by a TLS 1.3 handshake
        assertThat(answer.getHello().getCellId()).isEqualTo(a.cellId() + " TLSv1.3");
    }

    @Test
    void aDiallerThatExpectsAnotherCellRefusesTheConnection() throws Exception {
        CellIdentity a = newCell();
        CellIdentity b = newCell();
        CellIdentity impostorExpected = newCell();
        int port = startServer(b);

        assertThatThrownBy(() -> dial(a, port, impostorExpected.cellId()).identify(IdentifyRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e).hasStackTraceContaining("peer is cell " + b.cellId() + ", not the expected "
                            + impostorExpected.cellId());
                });
    }

    @Test
    void certificatesAreBoundToTheCellKey() throws Exception {
        CellIdentity a = newCell();
        Instant now = clock.instant();
        CellCertificates.TlsIdentity tls = CellCertificates.selfSigned(a, now, Duration.ofDays(1));

        assertThat(CellCertificates.cellIdOf(tls.certificate(), now)).isEqualTo(a.cellId());
        assertThatThrownBy(() -> CellCertificates.cellIdOf(tls.certificate(), now.plus(Duration.ofDays(2))))
                .hasMessageContaining("not a valid self-signed cell certificate");
        // a certificate carrying a's key but signed by someone else does not verify
        CellCertificates.TlsIdentity other = CellCertificates.selfSigned(newCell(), now, Duration.ofDays(1));
        assertThatThrownBy(() -> new CellTrustManager(null, clock).checkServerTrusted(
                new X509Certificate[] {tls.certificate(), other.certificate()}, "EdDSA"))
                .hasMessageContaining("exactly one");
    }
}
