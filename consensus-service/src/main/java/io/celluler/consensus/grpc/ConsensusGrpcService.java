package io.celluler.consensus.grpc;

import io.celluler.proto.consensus.v1.ConsensusServiceGrpc.ConsensusServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * ConsensusService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class ConsensusGrpcService extends ConsensusServiceImplBase {
}
