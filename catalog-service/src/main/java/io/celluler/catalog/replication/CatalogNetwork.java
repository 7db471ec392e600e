package io.celluler.catalog.replication;

import java.util.HexFormat;
import java.security.SecureRandom;
import java.util.function.BooleanSupplier;

import io.celluler.catalog.config.CatalogProperties;
import io.celluler.core.peer.PeerNetwork;
import io.celluler.proto.catalog.v1.CatalogPeerRequest;
import io.celluler.proto.catalog.v1.CatalogPeerResponse;
import io.grpc.StatusRuntimeException;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The catalog's way to other cells (network-service, topic {@code catalog}, capability {@code catalog-service}) and
 * the name this replica writes as: this cell's id from network-service, or, for a cell that works alone, a local id
 * made once (the replica keeps whichever it started with).
 */
@Component
public class CatalogNetwork {

    public static final String TOPIC = "catalog";
    public static final String CAPABILITY = "catalog-service";
    private static final Logger log = LoggerFactory.getLogger(CatalogNetwork.class);

    private final PeerNetwork<CatalogPeerRequest, CatalogPeerResponse> network;

    public CatalogNetwork(CatalogProperties props) {
        var r = props.replication();
        this.network = r.networked() ? new PeerNetwork<>(r.networkAddress(), r.callTimeout(), TOPIC, CAPABILITY,
                CatalogPeerRequest.parser(), CatalogPeerResponse.parser()) : null;
    }

    /** The network, or null when this cell works alone. */
    public PeerNetwork<CatalogPeerRequest, CatalogPeerResponse> network() {
        return network;
    }

    /**
     * The id a new replica writes as: network-service's cell id (asked until it answers, while {@code keepWaiting}),
     * or a local id when this cell works alone. Null when it stopped waiting.
     */
    public String awaitCellId(BooleanSupplier keepWaiting) {
        if (network == null) {
            byte[] b = new byte[8];
            new SecureRandom().nextBytes(b);
            return "local-" + HexFormat.of().formatHex(b);
        }
        while (keepWaiting.getAsBoolean()) {
            try {
                return network.selfId();
            } catch (StatusRuntimeException e) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }
        return null;
    }

    /** Says so when network-service names this cell otherwise than the replica was made as (best effort). */
    public void checkCellId(String replicaId) {
        if (network == null) {
            return;
        }
        Thread.ofVirtual().name("catalog-cell-id-check").start(() -> {
            for (int i = 0; i < 60; i++) {
                try {
                    String id = network.selfId();
                    if (!id.equals(replicaId)) {
                        log.error("catalog: this replica was made as cell {} but network-service names this cell {};"
                                + " entries created here keep {} as their owner", replicaId, id, replicaId);
                    }
                    return;
                } catch (StatusRuntimeException e) {
                    try {
                        Thread.sleep(1_000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        });
    }

    @PreDestroy
    public void close() {
        if (network != null) {
            network.close();
        }
    }
}
