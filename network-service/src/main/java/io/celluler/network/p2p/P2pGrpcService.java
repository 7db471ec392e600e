package io.celluler.network.p2p;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.celluler.network.engine.Hellos;
import io.celluler.proto.p2p.v1.Capability;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.IdentifyRequest;
import io.celluler.proto.p2p.v1.IdentifyResponse;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * The cell-to-cell service on the P2P port (not a Spring bean of the service port: {@link P2pServer} serves it
 * alone, over mutual TLS). {@code Identify} answers the cell's signed hello; {@code Link} arrives with the
 * link layer (issue 3).
 */
final class P2pGrpcService extends P2PServiceGrpc.P2PServiceImplBase {

    static final int NONCE_BYTES = 16;

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final String version;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private volatile String listenAddress = "";

    P2pGrpcService(CellIdentity identity, NetworkProperties properties, String version, Clock clock) {
        this.identity = identity;
        this.properties = properties;
        this.version = version;
        this.clock = clock;
    }

    void listenAddress(String address) {
        this.listenAddress = address;
    }

    @Override
    public void identify(IdentifyRequest request, StreamObserver<IdentifyResponse> responses) {
        if (!request.getNonce().isEmpty() && request.getNonce().size() != NONCE_BYTES) {
            responses.onError(GrpcErrors.invalidArgument("nonce", "must be empty or " + NONCE_BYTES + " bytes"));
            return;
        }
        ByteString nonce = request.getNonce();
        if (nonce.isEmpty()) {
            byte[] fresh = new byte[NONCE_BYTES];
            random.nextBytes(fresh);
            nonce = ByteString.copyFrom(fresh);
        }
        Instant now = clock.instant();
        Hello.Builder hello = Hello.newBuilder()
                .setSoftwareVersion(version)
                .setTimestamp(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setNonce(nonce);
        if (!listenAddress.isEmpty()) {
            hello.addListenAddresses(listenAddress);
        }
        properties.capabilities().forEach((service, apis) -> hello.addCapabilities(
                Capability.newBuilder().setService(service).addAllApiVersions(apis)));
        responses.onNext(IdentifyResponse.newBuilder().setHello(Hellos.seal(hello, identity)).build());
        responses.onCompleted();
    }

    @Override
    public StreamObserver<io.celluler.proto.p2p.v1.LinkRequest> link(
            StreamObserver<io.celluler.proto.p2p.v1.LinkResponse> responses) {
        responses.onError(Status.UNIMPLEMENTED.withDescription("celluler.p2p.v1.P2PService/Link is not implemented "
                + "yet: links arrive with the network-service issue (links, routing, relay)").asRuntimeException());
        return new StreamObserver<>() {
            @Override
            public void onNext(io.celluler.proto.p2p.v1.LinkRequest value) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }
}
