package io.celluler.model.grpc;

import io.celluler.proto.model.v1.ModelServiceGrpc.ModelServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * ModelService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class ModelGrpcService extends ModelServiceImplBase {
}
