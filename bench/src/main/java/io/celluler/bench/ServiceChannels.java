package io.celluler.bench;

import io.celluler.cli.cell.CellService;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/** Plaintext loopback channels to the services of a cell started by a benchmark. */
final class ServiceChannels {

    private ServiceChannels() {
    }

    /** A channel to {@code service}'s gRPC port on cell {@code cell} (messages up to 32 MiB in). */
    static ManagedChannel of(String service, int cell) {
        int port = CellService.ALL.stream().filter(s -> s.name().equals(service)).findFirst().orElseThrow().grpcPort(cell);
        return ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(32 << 20).build();
    }
}
