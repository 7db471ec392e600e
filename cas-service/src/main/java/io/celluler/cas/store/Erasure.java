package io.celluler.cas.store;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How content is kept erasure-coded on other cells: every chunk cut into {@code dataShards} (k) data shards and
 * {@code parityShards} (m) parity shards, each shard index kept by a distinct other cell; {@link #NONE} when it is
 * not. Written {@code k+m} (e.g. {@code 4+2}) in the {@code x-celluler-erasure} header.
 */
public record Erasure(int dataShards, int parityShards) {

    public static final Erasure NONE = new Erasure(0, 0);
    /** k + m at most: one cell per shard index, and no bucket spreads over more cells than this. */
    public static final int MAX_SHARDS = 16;
    private static final Pattern TEXT = Pattern.compile("\\s*(\\d{1,2})\\s*\\+\\s*(\\d{1,2})\\s*");

    public Erasure {
        if (!(dataShards == 0 && parityShards == 0) && (dataShards < 2 || parityShards < 1
                || dataShards + parityShards > MAX_SHARDS)) {
            // k = 1 would be copies (every shard is the chunk itself): a replication factor says that
            throw new IllegalArgumentException("erasure coding needs k >= 2 data and m >= 1 parity shards with k + m <= "
                    + MAX_SHARDS + " (got " + dataShards + "+" + parityShards + ")");
        }
    }

    /** {@code k+m}; IllegalArgumentException (a message fit for the user) when it is not one. */
    public static Erasure parse(String text) {
        Matcher m = TEXT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("must be k+m (data and parity shards, e.g. 4+2), not '" + text + "'");
        }
        return new Erasure(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    public boolean none() {
        return dataShards == 0;
    }

    public int totalShards() {
        return dataShards + parityShards;
    }

    @Override
    public String toString() {
        return none() ? "none" : dataShards + "+" + parityShards;
    }
}
