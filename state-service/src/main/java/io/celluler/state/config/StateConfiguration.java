package io.celluler.state.config;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import io.celluler.state.grpc.StateGrpcService;
import io.celluler.state.replication.RootComparison;
import io.celluler.state.replication.StatePeers;
import io.celluler.state.snapshot.Snapshots;
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
    StatePeers statePeers(StateProperties props) {
        return new StatePeers(props.networkAddress(), props.callTimeout());
    }

    @Bean
    RootComparison rootComparison(StateNode node, StatePeers peers, StateProperties props, MeterRegistry meters) {
        return new RootComparison(node, peers, props.compareInterval(), meters);
    }

    @Bean
    Snapshots snapshots(StateProperties props, StateNode node, StateStore store, TreeStore trees, StatePeers peers,
            MeterRegistry meters) {
        Snapshots s = new Snapshots(props, node, store, trees, peers, meters);
        node.catchUpWith(s);
        return s;
    }

    @Bean
    StateGrpcService stateGrpcService(StateNode node, RootComparison roots, Snapshots snapshots, DataSource dataSource)
            throws SQLException {
        String product;
        try (Connection c = dataSource.getConnection()) {
            product = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT);
        }
        return new StateGrpcService(node, roots, snapshots, product.contains("postgres") ? "postgresql" : "h2");
    }
}
