package io.celluler.catalog.engine;

import java.util.Comparator;

/**
 * A hybrid logical clock reading (Kulkarni et al., "Logical Physical Clocks", 2014): physical milliseconds, a
 * logical counter that orders readings within one millisecond (or while a clock lags a peer's), and the reading
 * cell as the last tie-break, so that two readings are never equal unless they are the same reading.
 */
public record Hlc(long millis, int logical, String cell) implements Comparable<Hlc> {

    private static final Comparator<Hlc> ORDER = Comparator.comparingLong(Hlc::millis)
            .thenComparingInt(Hlc::logical)
            .thenComparing(Hlc::cell);

    public Hlc {
        if (cell == null) {
            throw new IllegalArgumentException("an HLC reading names its cell");
        }
    }

    @Override
    public int compareTo(Hlc o) {
        return ORDER.compare(this, o);
    }

    /** The later of two readings, either possibly null. */
    public static Hlc max(Hlc a, Hlc b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return a.compareTo(b) >= 0 ? a : b;
    }
}
