package io.celluler.catalog.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Comparator;
import java.util.List;

import com.google.protobuf.ByteString;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The join of every CRDT type here is a semilattice join: commutative, associative, idempotent (Shapiro et al.,
 * "Conflict-free Replicated Data Types", 2011, §2.2: a state-based object converges when its merge is a least upper
 * bound). Checked for each register and for whole entry states built by random histories on three cells.
 */
class LatticeLawsTest {

    // ---- whole entries ------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<List<Histories.Step>> history() {
        return Histories.steps();
    }

    @Property(tries = 300)
    void entryJoinIsCommutativeAssociativeAndIdempotent(@ForAll("history") List<Histories.Step> steps,
            @ForAll("picks") List<Integer> picks) {
        List<EntryState> states = Histories.run(steps);
        EntryState a = states.get(picks.get(0) % states.size());
        EntryState b = states.get(picks.get(1) % states.size());
        EntryState c = states.get(picks.get(2) % states.size());

        assertThat(Histories.same(Histories.join(a, b), Histories.join(b, a))).as("commutative").isTrue();
        assertThat(Histories.same(Histories.join(Histories.join(a, b), c), Histories.join(a, Histories.join(b, c))))
                .as("associative").isTrue();
        assertThat(Histories.same(Histories.join(a, a), a)).as("idempotent").isTrue();
        // a join is an upper bound: joining either side in again changes nothing
        EntryState ab = Histories.join(a, b);
        assertThat(Histories.same(Histories.join(ab, a), ab)).as("upper bound").isTrue();
    }

    @Provide
    Arbitrary<List<Integer>> picks() {
        return Arbitraries.integers().between(0, 1000).list().ofSize(3);
    }

    @Property(tries = 200)
    void copiesThatMergedEverythingAgree(@ForAll("history") List<Histories.Step> steps) {
        List<EntryState> states = Histories.run(steps);
        EntryState one = Histories.join(Histories.join(states.get(0), states.get(1)), states.get(2));
        EntryState other = Histories.join(Histories.join(states.get(2), states.get(0)), states.get(1));
        assertThat(Histories.same(one, other)).isTrue();
        // and a deleted entry stays deleted whatever joins in
        if (states.get(0).isDeleted()) {
            assertThat(one.isDeleted()).isTrue();
        }
    }

    // ---- the parts ----------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<DotContext> contexts() {
        Arbitrary<Dot> dot = Combinators.combine(Arbitraries.of("a", "b", "c"), Arbitraries.longs().between(1, 12))
                .as(Dot::new);
        return dot.set().ofMaxSize(15).map(s -> {
            DotContext c = new DotContext();
            s.forEach(c::add);
            return c;
        });
    }

    @Property(tries = 300)
    void dotContextJoinIsASemilattice(@ForAll("contexts") DotContext a, @ForAll("contexts") DotContext b,
            @ForAll("contexts") DotContext c) {
        assertThat(join(a, b)).isEqualTo(join(b, a));
        assertThat(join(join(a, b), c)).isEqualTo(join(a, join(b, c)));
        assertThat(join(a, a)).isEqualTo(a);
        // the compact form is a function of the set: every dot of either is in the join, and nothing else
        DotContext ab = join(a, b);
        for (String cell : List.of("a", "b", "c")) {
            for (long n = 1; n <= 13; n++) {
                Dot d = new Dot(cell, n);
                assertThat(ab.contains(d)).isEqualTo(a.contains(d) || b.contains(d));
            }
        }
    }

    private static DotContext join(DotContext x, DotContext y) {
        DotContext r = x.copy();
        r.join(y);
        return r;
    }

    @Provide
    Arbitrary<Hlc> readings() {
        return Combinators.combine(Arbitraries.longs().between(0, 3), Arbitraries.integers().between(0, 2),
                Arbitraries.of("a", "b")).as(Hlc::new);
    }

    @Property(tries = 300)
    void lwwJoinIsASemilattice(@ForAll("readings") Hlc t1, @ForAll("readings") Hlc t2, @ForAll("readings") Hlc t3,
            @ForAll("vals") String v1, @ForAll("vals") String v2, @ForAll("vals") String v3) {
        Lww<String> a = new Lww<>(v1, t1);
        Lww<String> b = new Lww<>(v2, t2);
        Lww<String> c = new Lww<>(v3, t3);
        Comparator<String> tie = Comparator.naturalOrder();
        assertThat(Lww.join(a, b, tie)).isEqualTo(Lww.join(b, a, tie));
        assertThat(Lww.join(Lww.join(a, b, tie), c, tie)).isEqualTo(Lww.join(a, Lww.join(b, c, tie), tie));
        assertThat(Lww.join(a, a, tie)).isEqualTo(a);
        assertThat(Lww.join(a, null, tie)).isEqualTo(a);
    }

    @Provide
    Arbitrary<String> vals() {
        return Arbitraries.of("x", "y", "z");
    }

    @Provide
    Arbitrary<Status> statuses() {
        return Combinators.combine(Arbitraries.integers().between(1, 3), readings(), vals(),
                Arbitraries.of(ByteString.EMPTY, ByteString.copyFromUtf8("proof"))).as(Status::new);
    }

    @Property(tries = 300)
    void statusJoinIsASemilatticeAndFinalOutranks(@ForAll("statuses") Status a, @ForAll("statuses") Status b,
            @ForAll("statuses") Status c) {
        assertThat(Status.join(a, b)).isEqualTo(Status.join(b, a));
        assertThat(Status.join(Status.join(a, b), c)).isEqualTo(Status.join(a, Status.join(b, c)));
        assertThat(Status.join(a, a)).isEqualTo(a);
        if (a.code() == Status.FINAL || b.code() == Status.FINAL) {
            assertThat(Status.join(a, b).code()).isEqualTo(Status.FINAL);
        }
    }

    @Provide
    Arbitrary<Location> locations() {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.longs().between(1, 3),
                Arbitraries.longs().between(0, 2)).as((p, v, t) -> new Location("a", 1, p, v, t));
    }

    @Property(tries = 300)
    void locationJoinIsASemilattice(@ForAll("locations") Location a, @ForAll("locations") Location b,
            @ForAll("locations") Location c) {
        assertThat(Location.join(a, b)).isEqualTo(Location.join(b, a));
        assertThat(Location.join(Location.join(a, b), c)).isEqualTo(Location.join(a, Location.join(b, c)));
        assertThat(Location.join(a, a)).isEqualTo(a);
    }

    @Provide
    Arbitrary<CounterShare> shares() {
        return Combinators.combine(Arbitraries.longs().between(0, 5), Arbitraries.longs().between(0, 5))
                .as((i, d) -> new CounterShare("n", "a", i, d));
    }

    @Property(tries = 300)
    void counterShareJoinIsASemilattice(@ForAll("shares") CounterShare a, @ForAll("shares") CounterShare b,
            @ForAll("shares") CounterShare c) {
        assertThat(CounterShare.join(a, b)).isEqualTo(CounterShare.join(b, a));
        assertThat(CounterShare.join(CounterShare.join(a, b), c))
                .isEqualTo(CounterShare.join(a, CounterShare.join(b, c)));
        assertThat(CounterShare.join(a, a)).isEqualTo(a);
    }

    @Provide
    Arbitrary<Deletion> deletions() {
        return Combinators.combine(readings(), Arbitraries.of("a", "b"), Arbitraries.longs().between(1, 3))
                .as(Deletion::new);
    }

    @Property(tries = 300)
    void deletionJoinIsASemilattice(@ForAll("deletions") Deletion a, @ForAll("deletions") Deletion b,
            @ForAll("deletions") Deletion c) {
        assertThat(Deletion.join(a, b)).isEqualTo(Deletion.join(b, a));
        assertThat(Deletion.join(Deletion.join(a, b), c)).isEqualTo(Deletion.join(a, Deletion.join(b, c)));
        assertThat(Deletion.join(a, a)).isEqualTo(a);
    }

}
