package io.celluler.catalog.engine;

/**
 * One cell's hybrid logical clock. The caller passes physical time in (engines read no clock); readings never go
 * backwards and follow the greatest reading observed from other cells, unless that reading is further ahead of
 * physical time than {@code maxDriftMillis}: such a reading is not followed (a cell with a clock far in the future
 * must not drag every other cell's clock with it) and {@link #observe} says so.
 */
public final class HlcClock {

    private final String cell;
    private final long maxDriftMillis;
    private long millis;
    private int logical;

    public HlcClock(String cell, long maxDriftMillis) {
        this.cell = cell;
        this.maxDriftMillis = maxDriftMillis;
    }

    /** A new reading, after every earlier one. */
    public Hlc now(long physicalMillis) {
        if (physicalMillis > millis) {
            millis = physicalMillis;
            logical = 0;
        } else {
            logical++;
        }
        return new Hlc(millis, logical, cell);
    }

    /**
     * Moves the clock past a reading made elsewhere (or loaded from storage).
     *
     * @return false when the reading is too far ahead of physical time and was not followed
     */
    public boolean observe(Hlc seen, long physicalMillis) {
        if (seen == null) {
            return true;
        }
        if (seen.millis() > physicalMillis + maxDriftMillis) {
            return false;
        }
        if (seen.millis() > millis) {
            millis = seen.millis();
            logical = seen.logical();
        } else if (seen.millis() == millis && seen.logical() > logical) {
            logical = seen.logical();
        }
        return true;
    }

    public String cell() {
        return cell;
    }
}
