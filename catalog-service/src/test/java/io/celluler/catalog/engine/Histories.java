package io.celluler.catalog.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.google.protobuf.ByteString;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Random histories of one entry on three cells, for the lattice-law properties: operations on the cells' copies
 * (each made as a delta and joined in, as the replica does) and merges between copies. What comes out is every
 * state and delta seen along the way: realistic lattice elements, concurrent dots and all.
 */
final class Histories {

    static final String ID = "0123456789abcdef0123456789abcdef";
    static final String[] CELLS = {"cell-a", "cell-b", "cell-c"};
    private static final String[] KEYS = {"env", "tier", "team"};
    private static final String[] VALUES = {"prod", "dev", "x"};

    /** One step: {@code kind} picks what, the other numbers pick whom and which value. */
    record Step(int kind, int cell, int other, int key, int value) {
    }

    static Arbitrary<List<Step>> steps() {
        Arbitrary<Step> step = Combinators.combine(Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 2)).as(Step::new);
        return step.list().ofMaxSize(30);
    }

    /** Runs a history; answers every state and delta it produced (the three copies' final states first). */
    static List<EntryState> run(List<Step> steps) {
        List<EntryState> copies = new ArrayList<>();
        HlcClock[] clocks = new HlcClock[CELLS.length];
        for (int i = 0; i < CELLS.length; i++) {
            clocks[i] = new HlcClock(CELLS[i], Long.MAX_VALUE / 4);
        }
        EntryState creation = EntryState.creation(ID, 1, CELLS[0], clocks[0].now(1), "snap", "", "ab", 10,
                ByteString.EMPTY, Map.of("env", "dev"), ByteString.copyFromUtf8("{}"));
        for (int i = 0; i < CELLS.length; i++) {
            EntryState s = new EntryState(ID);
            s.join(creation);
            copies.add(s);
        }
        List<EntryState> seen = new ArrayList<>();
        seen.add(creation);
        long time = 1;
        long seq = 0;
        for (Step st : steps) {
            time += st.value();
            EntryState c = copies.get(st.cell());
            String cell = CELLS[st.cell()];
            Hlc at = clocks[st.cell()].now(time);
            // a deleted copy takes no more changes (the replica refuses them): it can only merge
            EntryState delta = c.isDeleted() ? null : switch (st.kind()) {
                case 0 -> c.labelsDelta(cell, at, Map.of(KEYS[st.key()], VALUES[st.value()]), Set.of());
                case 1 -> c.labelsDelta(cell, at, Map.of(), Set.of(KEYS[st.key()]));
                case 2 -> c.metadataDelta(cell, at, ByteString.copyFromUtf8("m" + st.value()));
                case 3 -> c.fieldsDelta(at, "name-" + st.value(), null, null, (long) st.key(), null);
                case 4 -> c.statusDelta(at, 1 + st.value(), "r" + st.key(), ByteString.EMPTY);
                case 5 -> c.locationDelta(cell, 1 + st.key() % 2, st.value() > 0, time);
                case 6 -> c.counterDelta(cell, KEYS[st.key()], st.value() - 1L);
                case 7 -> st.value() == 0 ? c.deletionDelta(at, cell, ++seq) : null;
                default -> null; // 8, 9: merge another copy in
            };
            if (delta == null) {
                EntryState from = copies.get(st.other());
                c.join(from);
                clocks[st.cell()].observe(from.latestReading(), time);
            } else {
                c.join(delta);
                seen.add(delta);
            }
            seen.add(copy(c));
        }
        List<EntryState> out = new ArrayList<>();
        copies.forEach(s -> out.add(copy(s)));
        out.addAll(seen);
        return out;
    }

    static EntryState copy(EntryState s) {
        return EntryCodec.decode(EntryCodec.encode(s));
    }

    static EntryState join(EntryState a, EntryState b) {
        EntryState r = copy(a);
        r.join(b);
        return r;
    }

    static boolean same(EntryState a, EntryState b) {
        return EntryCodec.encode(a).equals(EntryCodec.encode(b));
    }

    private Histories() {
    }
}
