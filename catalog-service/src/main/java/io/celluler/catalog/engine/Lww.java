package io.celluler.catalog.engine;

import java.util.Comparator;

/**
 * A last-writer-wins register: the value written at the greatest HLC reading. Readings are unique per cell, so two
 * different values at one reading only come from a broken or lying cell; the comparator still picks one of them
 * the same way everywhere, which keeps the join a semilattice.
 */
public record Lww<T>(T value, Hlc at) {

    public Lww {
        if (value == null || at == null) {
            throw new IllegalArgumentException("a register write has a value and a reading");
        }
    }

    /** The join of two registers, either possibly null (never written). */
    public static <T> Lww<T> join(Lww<T> a, Lww<T> b, Comparator<? super T> tieBreak) {
        if (a == null) {
            return b;
        }
        if (b == null || a.equals(b)) {
            return a;
        }
        int c = a.at.compareTo(b.at);
        if (c == 0) {
            c = tieBreak.compare(a.value, b.value);
        }
        return c >= 0 ? a : b;
    }
}
