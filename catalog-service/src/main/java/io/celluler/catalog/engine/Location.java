package io.celluler.catalog.engine;

/**
 * One cell's report about an entry's content: whether it holds it (kind 1) or has it loaded (kind 2). Only that
 * cell writes it, each write with a higher {@code version}, so the join keeps the highest version.
 */
public record Location(String cell, int kind, boolean present, long version, long sinceMillis) {

    /** The key a location is stored under. */
    public String key() {
        return cell + "/" + kind;
    }

    public static Location join(Location a, Location b) {
        if (a == null) {
            return b;
        }
        if (b == null || a.equals(b)) {
            return a;
        }
        if (a.version != b.version) {
            return a.version > b.version ? a : b;
        }
        // one version written twice differently: only a broken cell does that; pick the same one everywhere
        if (a.present != b.present) {
            return a.present ? a : b;
        }
        return a.sinceMillis >= b.sinceMillis ? a : b;
    }
}
