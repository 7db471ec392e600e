package io.celluler.network.grpc;

import io.celluler.proto.network.v1.NetworkServiceGrpc.NetworkServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * NetworkService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class NetworkGrpcService extends NetworkServiceImplBase {
}
