package io.celluler.catalog.engine;

/**
 * One cell's share of a PN-counter named {@code name}: the increments and the decrements it made. The counter's
 * value is the sum of increments less the sum of decrements over every cell's share; only the cell itself grows
 * its share, so the join keeps the larger of each.
 */
public record CounterShare(String name, String cell, long increments, long decrements) {

    public CounterShare {
        if (increments < 0 || decrements < 0) {
            throw new IllegalArgumentException("a counter share does not go below zero");
        }
    }

    public String key() {
        return name + '\u0000' + cell;
    }

    public static CounterShare join(CounterShare a, CounterShare b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return new CounterShare(a.name, a.cell, Math.max(a.increments, b.increments),
                Math.max(a.decrements, b.decrements));
    }
}
