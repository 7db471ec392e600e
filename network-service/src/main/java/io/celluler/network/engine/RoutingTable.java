package io.celluler.network.engine;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where to send a message for a cell this cell has no link to: a distance-vector table over the link graph.
 * Each neighbour tells its table (destination → hops); a destination is reached through the neighbour with the
 * fewest hops (ties: the lowest neighbour id, so the choice is stable). Split horizon: the table told to a
 * neighbour leaves out the routes through that neighbour, and a hop limit bounds what a lost link can leave
 * behind (the next advertisements replace it). A pure engine: the router feeds it and owns the locking.
 */
public final class RoutingTable {

    /** A way to a destination: the linked peer to hand the message to, and the links on the path. */
    public record Route(String destination, String nextHop, int hops) {
    }

    private final String self;
    private final int maxHops;
    private final Set<String> neighbours = new HashSet<>();
    private final Map<String, Map<String, Integer>> advertised = new HashMap<>();

    public RoutingTable(String self, int maxHops) {
        this.self = self;
        this.maxHops = maxHops;
    }

    public void linkUp(String peer) {
        neighbours.add(peer);
    }

    public void linkDown(String peer) {
        neighbours.remove(peer);
        advertised.remove(peer);
    }

    /** A neighbour's table replaces what it said before; ignored unless linked. */
    public void advertisement(String from, Map<String, Integer> routes) {
        if (neighbours.contains(from)) {
            advertised.put(from, Map.copyOf(routes));
        }
    }

    /** The best route to {@code destination}, or null when there is none within the hop limit. */
    public Route route(String destination) {
        if (neighbours.contains(destination)) {
            return new Route(destination, destination, 1);
        }
        Route best = null;
        for (var e : advertised.entrySet()) {
            Integer hops = e.getValue().get(destination);
            if (hops == null || hops + 1 > maxHops) {
                continue;
            }
            int total = hops + 1;
            if (best == null || total < best.hops() || total == best.hops() && e.getKey().compareTo(best.nextHop()) < 0) {
                best = new Route(destination, e.getKey(), total);
            }
        }
        return best;
    }

    /** Every destination reachable, with its best route, ordered by destination. */
    public Map<String, Route> routes() {
        Set<String> destinations = new HashSet<>(neighbours);
        advertised.values().forEach(m -> destinations.addAll(m.keySet()));
        destinations.remove(self);
        Map<String, Route> out = new TreeMap<>();
        for (String d : destinations) {
            Route r = route(d);
            if (r != null) {
                out.put(d, r);
            }
        }
        return out;
    }

    /** What to tell {@code neighbour}: every route except those through it (split horizon). */
    public Map<String, Integer> advertisementFor(String neighbour) {
        Map<String, Integer> out = new TreeMap<>();
        routes().forEach((d, r) -> {
            if (!r.nextHop().equals(neighbour) && !d.equals(neighbour)) {
                out.put(d, r.hops());
            }
        });
        return out;
    }

    public Set<String> neighbours() {
        return Set.copyOf(neighbours);
    }
}
