package io.celluler.catalog.grpc;

import io.celluler.proto.catalog.v1.CatalogServiceGrpc.CatalogServiceImplBase;
import org.springframework.stereotype.Service;

/**
 * CatalogService as it stands: its contract is served (reflection lists it, the gateway routes it) and every RPC
 * answers UNIMPLEMENTED naming the issue that builds it (see {@code celluler.roadmap}). RPCs land here as
 * they are built.
 */
@Service
public class CatalogGrpcService extends CatalogServiceImplBase {
}
