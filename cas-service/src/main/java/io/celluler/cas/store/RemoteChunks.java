package io.celluler.cas.store;

/** Where a chunk this cell lost can be fetched from again (other cells, when the cell is part of a network). */
@FunctionalInterface
public interface RemoteChunks {

    /** Fetches the chunk from elsewhere and stores it here, verified; true when it is stored again. */
    boolean fetch(String sha256);
}
