package io.celluler.network.p2p;

import io.celluler.core.grpc.GrpcErrors;
import io.celluler.proto.p2p.v1.IdentifyRequest;
import io.celluler.proto.p2p.v1.IdentifyResponse;
import io.celluler.proto.p2p.v1.LinkRequest;
import io.celluler.proto.p2p.v1.LinkResponse;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * The cell-to-cell service on the P2P port (not a Spring bean of the service port: {@link P2pServer} serves it
 * alone, over mutual TLS). {@code Identify} answers the cell's signed hello; {@code Link} hands the stream to
 * {@link Links}, which runs the hello exchange and everything after.
 */
final class P2pGrpcService extends P2PServiceGrpc.P2PServiceImplBase {

    static final int NONCE_BYTES = 16;

    private final Links links;

    P2pGrpcService(Links links) {
        this.links = links;
    }

    @Override
    public void identify(IdentifyRequest request, StreamObserver<IdentifyResponse> responses) {
        if (!request.getNonce().isEmpty() && request.getNonce().size() != NONCE_BYTES) {
            responses.onError(GrpcErrors.invalidArgument("nonce", "must be empty or " + NONCE_BYTES + " bytes"));
            return;
        }
        responses.onNext(IdentifyResponse.newBuilder().setHello(links.hello(request.getNonce())).build());
        responses.onCompleted();
    }

    @Override
    public StreamObserver<LinkRequest> link(StreamObserver<LinkResponse> responses) {
        return links.accept(PeerIdentityInterceptor.PEER_CELL_ID.get(), PeerIdentityInterceptor.PEER_ADDRESS.get(),
                (ServerCallStreamObserver<LinkResponse>) responses);
    }
}
