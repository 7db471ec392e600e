package io.celluler.state.grpc;

import io.celluler.proto.state.v1.StateServiceGrpc.StateServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * StateService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class StateGrpcService extends StateServiceImplBase {
}
