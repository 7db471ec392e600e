package io.celluler.catalog.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.CatalogReplica.DeltaBatch;
import io.celluler.proto.catalog.v1.EntryCrdt;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Any delivery of gossip (in any order, duplicated, lost), with tombstone collection at any point, followed by
 * anti-entropy between the replicas, converges: every replica shows the same entries in the same states, exactly
 * those created and not deleted, and none shows an entry it has seen deleted.
 */
class ConvergenceTest {

    record Action(int kind, int replica, int other, int pick) {
    }

    private static final String[] CELLS = {"a", "b", "c"};

    @Provide
    Arbitrary<List<Action>> actions() {
        return Combinators.combine(Arbitraries.integers().between(0, 11), Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 1000)).as(Action::new)
                .list().ofMaxSize(80);
    }

    private record Pending(int to, DeltaBatch batch) {
    }

    @Property(tries = 300)
    void anyDeliveryFollowedByAntiEntropyConverges(@ForAll("actions") List<Action> actions) {
        List<CatalogReplica> rs = new ArrayList<>();
        for (String c : CELLS) {
            CatalogReplica r = new CatalogReplica(c, 60_000, 1_000);
            r.setMembers(List.of(CELLS));
            rs.add(r);
        }
        List<Set<String>> seenDeleted = List.of(new TreeSet<>(), new TreeSet<>(), new TreeSet<>());
        Set<String> created = new TreeSet<>();
        Set<String> deleted = new TreeSet<>();
        List<Pending> inFlight = new ArrayList<>();
        long now = 1_000;
        int ids = 0;
        for (Action a : actions) {
            now++;
            CatalogReplica r = rs.get(a.replica());
            List<String> visible = r.entries().values().stream().filter(EntryState::isComplete)
                    .map(EntryState::id).toList();
            switch (a.kind()) {
                case 0, 1, 2, 3, 4 -> {
                    if (visible.isEmpty() || a.kind() == 0) {
                        String id = HexFormat.of().toHexDigits(++ids) + "0".repeat(24);
                        created.add(id);
                        r.create(id, 1, "n", "", "", 0, ByteString.EMPTY, Map.of("k", "v"), ByteString.EMPTY, now);
                    } else {
                        String id = visible.get(a.pick() % visible.size());
                        switch (a.kind()) {
                            case 1 -> r.updateLabels(id, Map.of("k", "v" + a.pick() % 3), Set.of(), now);
                            case 2 -> r.updateLabels(id, Map.of(), Set.of("k"), now);
                            case 3 -> r.addToCounter(id, "c", a.pick() % 5 - 2, now);
                            default -> {
                                deleted.add(id);
                                r.delete(id, now);
                            }
                        }
                    }
                }
                case 5, 6 -> {
                    if (a.replica() != a.other()) {
                        inFlight.add(new Pending(a.other(), r.gossipTo(CELLS[a.other()], 1 + a.pick() % 8)));
                    }
                }
                case 7, 8 -> deliver(rs, inFlight, a.pick(), a.kind() == 8, now, seenDeleted);
                case 9 -> {
                    if (!inFlight.isEmpty()) {
                        inFlight.remove(a.pick() % inFlight.size()); // lost
                    }
                }
                default -> r.collectGarbage().forEach(c -> seenDeleted.get(a.replica()).add(c.entryId()));
            }
            noneShowsWhatItSawDeleted(rs, seenDeleted);
        }
        // what is still in flight arrives last-sent first, then anti-entropy between every two replicas
        while (!inFlight.isEmpty()) {
            deliver(rs, inFlight, inFlight.size() - 1, false, now, seenDeleted);
        }
        for (int i = 0; i < rs.size(); i++) {
            for (int j = 0; j < rs.size(); j++) {
                if (i != j) {
                    CatalogReplicaTest.antiEntropy(rs.get(i), rs.get(j), now).roundTrips();
                    noneShowsWhatItSawDeleted(rs, seenDeleted);
                }
            }
        }

        Set<String> expected = new TreeSet<>(created);
        expected.removeAll(deleted);
        TreeMap<String, EntryCrdt> first = shown(rs.get(0));
        assertThat(first.keySet()).isEqualTo(expected);
        for (CatalogReplica r : rs) {
            assertThat(shown(r)).as(r.self()).isEqualTo(first);
        }
    }

    private static void deliver(List<CatalogReplica> rs, List<Pending> inFlight, int pick, boolean keepCopy,
            long now, List<Set<String>> seenDeleted) {
        if (inFlight.isEmpty()) {
            return;
        }
        int i = pick % inFlight.size();
        Pending p = keepCopy ? inFlight.get(i) : inFlight.remove(i);
        CatalogReplica to = rs.get(p.to());
        to.onDeltas(p.batch(), now).forEach(c -> {
            if (c.entry() != null && c.entry().isDeleted()) {
                seenDeleted.get(p.to()).add(c.entryId());
            }
        });
        rs.get(List.of(CELLS).indexOf(p.batch().origin())).onAck(to.self(), to.knowledgeVector());
    }

    private static void noneShowsWhatItSawDeleted(List<CatalogReplica> rs, List<Set<String>> seenDeleted) {
        for (int i = 0; i < rs.size(); i++) {
            for (String id : seenDeleted.get(i)) {
                EntryState e = rs.get(i).entries().get(id);
                assertThat(e == null || e.isDeleted()).as(CELLS[i] + " shows " + id + " after seeing it deleted")
                        .isTrue();
            }
        }
    }

    private static TreeMap<String, EntryCrdt> shown(CatalogReplica r) {
        TreeMap<String, EntryCrdt> out = new TreeMap<>();
        r.entries().values().stream().filter(EntryState::isComplete)
                .forEach(e -> out.put(e.id(), EntryCodec.encode(e)));
        return out;
    }
}
