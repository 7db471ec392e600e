package io.celluler.network.p2p;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.grpc.Server;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The P2P listener (port 7101, + 10·k for cell k of a local network): a gRPC server of its own, separate from the service port, that speaks
 * only mutual TLS 1.3 with cell certificates ({@link CellCertificates}, {@link CellTrustManager}) and serves
 * only {@code celluler.p2p.v1.P2PService}. Its certificate is made from the cell key at start.
 */
@Component
public class P2pServer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(P2pServer.class);
    /** Lifetime of the certificate made at each start (the key, not the certificate, is the identity). */
    static final Duration CERTIFICATE_VALIDITY = Duration.ofDays(365);

    /**
     * gRPC's frame limit is the envelope limit plus this: an envelope at the limit still fits in its link frame,
     * and the verifier (not the transport, which would kill the whole link) refuses what is over.
     */
    static final int FRAME_HEADROOM = 16 * 1024;

    /** Lifecycle phase: before the membership driver, which needs the listen address. */
    static final int PHASE = Integer.MAX_VALUE - 1000;

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final Links links;
    private final P2pGrpcService service;
    private final Clock clock = Clock.systemUTC();
    private volatile Server server;

    public P2pServer(CellIdentity identity, NetworkProperties properties, Links links) {
        this.identity = identity;
        this.properties = properties;
        this.links = links;
        this.service = new P2pGrpcService(links);
    }

    @Override
    public void start() {
        CellCertificates.TlsIdentity tls = links.tls();
        try {
            server = NettyServerBuilder.forAddress(new InetSocketAddress(properties.p2pHost(), properties.p2pPort()))
                    .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(tls.privateKey(), tls.certificate()),
                                    SslProvider.JDK)
                            .protocols("TLSv1.3")
                            .clientAuth(ClientAuth.REQUIRE)
                            .trustManager(new CellTrustManager(null, clock))
                            .build())
                    .maxInboundMessageSize(properties.maxEnvelopeBytes() + FRAME_HEADROOM)
                    // dialling cells ping every two keep-alive intervals; allow it
                    .permitKeepAliveTime(1, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true)
                    .addService(io.grpc.ServerInterceptors.intercept(service, new PeerIdentityInterceptor(clock)))
                    .build().start();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS for the P2P listener", e);
        } catch (IOException e) {
            throw new UncheckedIOException("celluler.network.p2p-port: cannot listen on " + properties.p2pHost() + ":"
                    + properties.p2pPort(), e);
        }
        links.listenAddress(properties.p2pHost() + ":" + server.getPort());
        log.info("P2P listener on {}:{} (mutual TLS 1.3, cell {})", properties.p2pHost(), server.getPort(), identity.cellId());
    }

    /** The address other cells dial, {@code host:port}, or null before start. */
    public String listenAddress() {
        Server s = server;
        return s == null ? null : properties.p2pHost() + ":" + s.getPort();
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void stop() {
        Server s = server;
        links.closeAll();
        if (s != null) {
            s.shutdown();
            try {
                if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
                    s.shutdownNow();
                }
            } catch (InterruptedException e) {
                s.shutdownNow();
                Thread.currentThread().interrupt();
            }
            server = null;
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }
}
