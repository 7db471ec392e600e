package io.celluler.network.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

class RoutingTableTest {

    @Test
    void directLinksWinThenTheFewestHopsThenTheLowestNeighbour() {
        RoutingTable t = new RoutingTable("a", 8);
        t.linkUp("b");
        t.linkUp("c");
        t.advertisement("c", Map.of("d", 1, "e", 3));
        t.advertisement("b", Map.of("d", 1, "e", 2, "c", 1));

        assertThat(t.route("b")).isEqualTo(new RoutingTable.Route("b", "b", 1));
        assertThat(t.route("c")).as("direct beats a 2-hop route through b").isEqualTo(new RoutingTable.Route("c", "c", 1));
        assertThat(t.route("d")).as("tie at 2 hops: the lower neighbour").isEqualTo(new RoutingTable.Route("d", "b", 2));
        assertThat(t.route("e")).isEqualTo(new RoutingTable.Route("e", "b", 3));
        assertThat(t.route("z")).isNull();
    }

    @Test
    void aNeighbourIsNotToldTheRoutesThroughItAndNotItself() {
        RoutingTable t = new RoutingTable("a", 8);
        t.linkUp("b");
        t.linkUp("c");
        t.advertisement("b", Map.of("d", 1));

        assertThat(t.advertisementFor("b")).isEqualTo(Map.of("c", 1));
        assertThat(t.advertisementFor("c")).isEqualTo(Map.of("b", 1, "d", 2));
    }

    @Test
    void aLostLinkTakesItsRoutesAlongAndTheHopLimitHolds() {
        RoutingTable t = new RoutingTable("a", 3);
        t.linkUp("b");
        t.advertisement("b", Map.of("d", 2, "far", 3));
        assertThat(t.route("d")).isEqualTo(new RoutingTable.Route("d", "b", 3));
        assertThat(t.route("far")).as("4 hops > the limit of 3").isNull();

        t.linkDown("b");
        assertThat(t.route("d")).isNull();
        assertThat(t.routes()).isEmpty();
        t.advertisement("b", Map.of("d", 1));
        assertThat(t.route("d")).as("advertisements from a cell that is not linked are ignored").isNull();
    }
}
