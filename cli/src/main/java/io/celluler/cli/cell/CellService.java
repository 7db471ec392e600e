package io.celluler.cli.cell;

import java.util.List;

import io.celluler.cas.CasServiceApplication;
import io.celluler.catalog.CatalogServiceApplication;
import io.celluler.consensus.ConsensusServiceApplication;
import io.celluler.data.DataServiceApplication;
import io.celluler.gateway.GatewayServiceApplication;
import io.celluler.metrics.MetricsServiceApplication;
import io.celluler.model.ModelServiceApplication;
import io.celluler.network.NetworkServiceApplication;
import io.celluler.state.StateServiceApplication;

/**
 * The nine services of a cell and their ports (DESIGN §4). Cell k of a local network adds {@value #PORT_STRIDE} × k
 * to every port: not DESIGN's 1000 × k, under which cell k's HTTP ports (8101 + 1000k) are cell k−1's gRPC ports
 * (9101 + 1000(k−1)) and its P2P port (7101 + 1000k) is cell k−1's HTTP port — two cells side by side could not
 * start. With a stride of 10 the families stay apart (each cell uses x1–x8 of its tens) up to k = 99. The gateway
 * serves gRPC and REST on its one HTTP port.
 */
public record CellService(String name, Class<?> application, int grpcPort, int httpPort) {

    public static final List<CellService> ALL = List.of(
            new CellService(NetworkServiceApplication.NAME, NetworkServiceApplication.class, 9101, 8101),
            new CellService(ConsensusServiceApplication.NAME, ConsensusServiceApplication.class, 9102, 8102),
            new CellService(DataServiceApplication.NAME, DataServiceApplication.class, 9103, 8103),
            new CellService(StateServiceApplication.NAME, StateServiceApplication.class, 9104, 8104),
            new CellService(CatalogServiceApplication.NAME, CatalogServiceApplication.class, 9105, 8105),
            new CellService(CasServiceApplication.NAME, CasServiceApplication.class, 9106, 8106),
            new CellService(ModelServiceApplication.NAME, ModelServiceApplication.class, 9107, 8107),
            new CellService(MetricsServiceApplication.NAME, MetricsServiceApplication.class, 9108, 8108),
            new CellService(GatewayServiceApplication.NAME, GatewayServiceApplication.class, 8080, 8080));

    /** Ports of cell k are the DESIGN §4 ports + PORT_STRIDE × k. */
    public static final int PORT_STRIDE = 10;

    /** How far cell k's ports are from cell 0's. */
    public static int offset(int cellIndex) {
        return PORT_STRIDE * cellIndex;
    }

    public boolean isGateway() {
        return name.equals(GatewayServiceApplication.NAME);
    }

    public int grpcPort(int cellIndex) {
        return grpcPort + offset(cellIndex);
    }

    public int httpPort(int cellIndex) {
        return httpPort + offset(cellIndex);
    }
}
