package io.celluler.network.p2p;

import java.security.cert.X509Certificate;
import java.time.Clock;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Puts the TLS-authenticated cell id of the caller into the call's context ({@link #PEER_CELL_ID}). */
final class PeerIdentityInterceptor implements ServerInterceptor {

    static final Context.Key<String> PEER_CELL_ID = Context.key("celluler-peer-cell-id");
    static final Context.Key<java.net.SocketAddress> PEER_ADDRESS = Context.key("celluler-peer-address");

    private final Clock clock;

    PeerIdentityInterceptor(Clock clock) {
        this.clock = clock;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        try {
            if (session == null) {
                throw new SSLPeerUnverifiedException("no TLS session");
            }
            String peer = CellCertificates.cellIdOf((X509Certificate) session.getPeerCertificates()[0], clock.instant());
            return Contexts.interceptCall(Context.current().withValue(PEER_CELL_ID, peer)
                    .withValue(PEER_ADDRESS, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), call, headers, next);
        } catch (Exception e) {
            call.close(Status.UNAUTHENTICATED.withDescription("no authenticated cell: " + e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() { };
        }
    }
}
