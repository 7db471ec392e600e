package io.celluler.catalog.engine;

import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.NavigableSet;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A causal context: the set of events seen, kept as a version vector (every counter of a cell up to its entry) and
 * a cloud of loose dots above it, folded into the vector as soon as the gap below them fills (Almeida, Shoker,
 * Baquero, "Delta State Replicated Data Types", 2018, §5). Joining contexts is set union. Mutable; not thread-safe.
 */
public final class DotContext {

    private final TreeMap<String, Long> compact = new TreeMap<>();
    private final TreeSet<Dot> cloud = new TreeSet<>();

    public DotContext() {
    }

    public DotContext(Map<String, Long> compact, Iterable<Dot> cloud) {
        compact.forEach((cell, counter) -> {
            if (counter > 0) {
                this.compact.put(cell, counter);
            }
        });
        cloud.forEach(this.cloud::add);
        fold();
    }

    public boolean contains(Dot d) {
        Long upTo = compact.get(d.cell());
        return (upTo != null && d.counter() <= upTo) || cloud.contains(d);
    }

    /** The highest counter of {@code cell} seen (compact or loose), 0 when none. */
    public long max(String cell) {
        long m = compact.getOrDefault(cell, 0L);
        Dot top = cloud.floor(new Dot(cell, Long.MAX_VALUE));
        if (top != null && top.cell().equals(cell)) {
            m = Math.max(m, top.counter());
        }
        return m;
    }

    /** The next event of {@code cell}: one above the highest seen. */
    public Dot next(String cell) {
        return new Dot(cell, max(cell) + 1);
    }

    public void add(Dot d) {
        if (!contains(d)) {
            cloud.add(d);
            fold();
        }
    }

    /** Adds every event of {@code cell} from {@code from} to {@code to} (inclusive). */
    public void addRange(String cell, long from, long to) {
        if (from > to) {
            return;
        }
        long upTo = compact.getOrDefault(cell, 0L);
        if (from <= upTo + 1) {
            if (to > upTo) {
                compact.put(cell, to);
            }
        } else {
            for (long n = from; n <= to; n++) {
                cloud.add(new Dot(cell, n));
            }
        }
        fold();
    }

    /** Marks every event of {@code cell} up to {@code counter} as seen. */
    public void raise(String cell, long counter) {
        if (counter > compact.getOrDefault(cell, 0L)) {
            compact.put(cell, counter);
            fold();
        }
    }

    public void join(DotContext other) {
        if (other == this) {
            return;
        }
        other.compact.forEach((cell, counter) -> compact.merge(cell, counter, Math::max));
        cloud.addAll(other.cloud);
        fold();
    }

    /** Moves loose dots that continue the vector into it, and drops loose dots it already covers. */
    private void fold() {
        Iterator<Dot> it = cloud.iterator();
        while (it.hasNext()) {
            Dot d = it.next();
            long upTo = compact.getOrDefault(d.cell(), 0L);
            if (d.counter() == upTo + 1) {
                compact.put(d.cell(), d.counter());
                it.remove();
            } else if (d.counter() <= upTo) {
                it.remove();
            }
        }
    }

    public SortedMap<String, Long> compactView() {
        return Collections.unmodifiableSortedMap(compact);
    }

    public NavigableSet<Dot> cloudView() {
        return Collections.unmodifiableNavigableSet(cloud);
    }

    public boolean isEmpty() {
        return compact.isEmpty() && cloud.isEmpty();
    }

    public DotContext copy() {
        DotContext c = new DotContext();
        c.compact.putAll(compact);
        c.cloud.addAll(cloud);
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DotContext c && c.compact.equals(compact) && c.cloud.equals(cloud);
    }

    @Override
    public int hashCode() {
        return compact.hashCode() * 31 + cloud.hashCode();
    }

    @Override
    public String toString() {
        return compact + (cloud.isEmpty() ? "" : "+" + cloud);
    }
}
