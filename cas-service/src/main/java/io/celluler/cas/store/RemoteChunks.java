package io.celluler.cas.store;

/** Where a chunk this cell lost can be fetched from again (other cells, when the cell is part of a network). */
public interface RemoteChunks {

    /** Fetches the chunk from elsewhere and stores it here, verified; true when it is stored again. */
    boolean fetch(String sha256);

    /**
     * As {@link #fetch(String)}, for a chunk of content {@code root}: when no cell has the chunk and the content is
     * erasure-coded, the chunk is rebuilt from its shards.
     */
    default boolean fetch(String sha256, String root) {
        return fetch(sha256);
    }
}
