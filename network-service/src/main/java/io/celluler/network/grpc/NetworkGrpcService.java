package io.celluler.network.grpc;

import java.time.Instant;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.config.NetworkProperties;
import io.celluler.proto.network.v1.Capability;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.GetCellInfoResponse;
import io.celluler.proto.network.v1.NetworkServiceGrpc.NetworkServiceImplBase;
import io.grpc.stub.StreamObserver;
import org.springframework.stereotype.Service;

/**
 * NetworkService as it stands: {@code GetCellInfo} is built (identity, version, capabilities); peers, links,
 * messaging and membership answer UNIMPLEMENTED naming the network-service issue until their parts land.
 */
@Service
public class NetworkGrpcService extends NetworkServiceImplBase {

    private final CellIdentity identity;
    private final NetworkProperties properties;
    private final Instant startedAt = Instant.now();
    private final String version;

    private final io.celluler.network.p2p.P2pServer p2p;

    public NetworkGrpcService(CellIdentity identity, NetworkProperties properties, io.celluler.network.p2p.P2pServer p2p) {
        this.identity = identity;
        this.properties = properties;
        this.p2p = p2p;
        String v = NetworkGrpcService.class.getPackage().getImplementationVersion();
        this.version = v == null ? "dev" : v;
    }

    @Override
    public void getCellInfo(GetCellInfoRequest request, StreamObserver<GetCellInfoResponse> responses) {
        GetCellInfoResponse.Builder info = GetCellInfoResponse.newBuilder()
                .setCellId(identity.cellId())
                .setPublicKey(ByteString.copyFrom(identity.publicKey()))
                .setVersion(version)
                .setStartedAt(Timestamp.newBuilder().setSeconds(startedAt.getEpochSecond()).setNanos(startedAt.getNano()));
        properties.capabilities().forEach((service, apis) -> info.addCapabilities(
                Capability.newBuilder().setService(service).addAllApiVersions(apis)));
        String p2pAddress = p2p.listenAddress();
        if (p2pAddress != null) {
            info.addP2PAddresses(p2pAddress);
        }
        // the incarnation stays 0 until membership runs on the links
        responses.onNext(info.build());
        responses.onCompleted();
    }
}
