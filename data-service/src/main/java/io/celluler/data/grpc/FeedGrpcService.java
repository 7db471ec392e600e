package io.celluler.data.grpc;

import io.celluler.proto.data.v1.FeedServiceGrpc.FeedServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * FeedService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class FeedGrpcService extends FeedServiceImplBase {
}
