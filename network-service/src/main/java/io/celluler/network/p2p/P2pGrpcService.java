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
 * alone, over mutual TLS). {@code Identify} answers the cell's signed hello; {@code Link} accepts a link
 * ({@link LinkSession}): hello exchange, keep-alives, verified envelopes.
 */
final class P2pGrpcService extends P2PServiceGrpc.P2PServiceImplBase {

    static final int NONCE_BYTES = 16;

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final String version;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private volatile String listenAddress = "";

    private final io.celluler.network.engine.EnvelopeVerifier verifier;
    private final io.celluler.network.engine.Blacklist blacklist;
    private final LinkSession.Observer observer;

    P2pGrpcService(CellIdentity identity, NetworkProperties properties, String version, Clock clock,
            LinkSession.Observer observer) {
        this.identity = identity;
        this.properties = properties;
        this.version = version;
        this.clock = clock;
        this.observer = observer;
        this.verifier = new io.celluler.network.engine.EnvelopeVerifier(new io.celluler.network.engine.EnvelopeVerifier.Limits(
                properties.replayWindow().toMillis(), properties.nonceCacheCapacity(), properties.maxEnvelopeBytes(),
                properties.maxPayloadBytes()));
        this.blacklist = new io.celluler.network.engine.Blacklist(new io.celluler.network.engine.Blacklist.Policy(
                properties.blacklistThreshold(), properties.blacklistWindow().toMillis(),
                properties.blacklistBan().toMillis(), 10_000));
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
        responses.onNext(IdentifyResponse.newBuilder().setHello(hello(request.getNonce())).build());
        responses.onCompleted();
    }

    /** This cell's signed hello, with the given nonce or a fresh one. */
    Hello hello(ByteString nonce) {
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
        return Hellos.seal(hello, identity);
    }

    @Override
    public StreamObserver<io.celluler.proto.p2p.v1.LinkRequest> link(
            StreamObserver<io.celluler.proto.p2p.v1.LinkResponse> responses) {
        String peer = PeerIdentityInterceptor.PEER_CELL_ID.get();
        long now = clock.millis();
        boolean banned;
        synchronized (blacklist) {
            banned = blacklist.isBlacklisted(peer, now);
        }
        if (banned) {
            observer.rejected(peer, io.celluler.proto.p2p.v1.RejectReason.REJECT_REASON_BLACKLISTED);
            responses.onError(Status.PERMISSION_DENIED.withDescription("cell " + peer + " is blacklisted")
                    .asRuntimeException());
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
        return new LinkSession(peer, responses, () -> hello(ByteString.EMPTY), verifier, blacklist, observer, clock,
                properties.replayWindow().toMillis());
    }
}
