package io.celluler.state.config;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import io.celluler.core.peer.PeerNetwork;
import io.celluler.proto.state.v1.StatePeerRequest;
import io.celluler.proto.state.v1.StatePeerResponse;
import io.celluler.state.grpc.StateGrpcService;
import io.celluler.state.replication.RootComparison;
import io.celluler.state.node.StateNode;
import io.celluler.state.store.StateStore;
import io.celluler.state.store.TreeStore;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/** The state machine's parts: the stores, the node that applies blocks, the API over them. */
@Configuration(proxyBeanMethods = false)
class StateConfiguration {

    @Bean
    TreeStore treeStore(JdbcTemplate jdbc, StateProperties props) {
        return new TreeStore(jdbc, props.nodeCacheEntries());
    }

    @Bean
    StateStore stateStore(JdbcTemplate jdbc, TransactionTemplate tx) {
        return new StateStore(jdbc, tx);
    }

    @Bean
    StateNode stateNode(StateProperties props, StateStore store, TreeStore trees, MeterRegistry meters) {
        return new StateNode(props, store, trees, meters);
    }

    @Bean
    RootComparison rootComparison(StateNode node, StateProperties props, MeterRegistry meters) {
        PeerNetwork<StatePeerRequest, StatePeerResponse> network = props.networked()
                ? new PeerNetwork<>(props.networkAddress(), props.callTimeout(), RootComparison.TOPIC,
                        RootComparison.CAPABILITY, StatePeerRequest.parser(), StatePeerResponse.parser())
                : null;
        return new RootComparison(node, network, props.compareInterval(), meters);
    }

    @Bean
    StateGrpcService stateGrpcService(StateNode node, RootComparison roots, DataSource dataSource) throws SQLException {
        String product;
        try (Connection c = dataSource.getConnection()) {
            product = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT);
        }
        return new StateGrpcService(node, roots, product.contains("postgres") ? "postgresql" : "h2");
    }
}
