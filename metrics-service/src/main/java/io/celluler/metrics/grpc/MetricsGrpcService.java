package io.celluler.metrics.grpc;

import io.celluler.proto.metrics.v1.MetricsServiceGrpc.MetricsServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * MetricsService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class MetricsGrpcService extends MetricsServiceImplBase {
}
