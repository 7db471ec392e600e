package io.celluler.catalog.engine;

import java.util.Comparator;

/** One event: the {@code counter}-th event of {@code cell} (on one entry, or in one cell's change log). */
public record Dot(String cell, long counter) implements Comparable<Dot> {

    private static final Comparator<Dot> ORDER = Comparator.comparing(Dot::cell).thenComparingLong(Dot::counter);

    public Dot {
        if (cell == null || counter < 1) {
            throw new IllegalArgumentException("a dot names a cell and counts from 1: " + cell + ":" + counter);
        }
    }

    @Override
    public int compareTo(Dot o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return cell + ":" + counter;
    }
}
