package io.celluler.catalog.engine;

import java.util.Comparator;

/**
 * Why an entry is gone: the change that deleted it ({@code seq} in {@code cell}'s change log) and its reading. Two
 * cells deleting one entry concurrently: the earlier deletion is kept, everywhere the same.
 */
public record Deletion(Hlc at, String cell, long seq) {

    private static final Comparator<Deletion> ORDER = Comparator.comparing(Deletion::at)
            .thenComparing(Deletion::cell)
            .thenComparingLong(Deletion::seq);

    public static Deletion join(Deletion a, Deletion b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return ORDER.compare(a, b) <= 0 ? a : b;
    }
}
