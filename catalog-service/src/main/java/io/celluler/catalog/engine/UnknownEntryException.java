package io.celluler.catalog.engine;

/** The entry does not exist on this replica, was deleted, or its creation has not arrived yet. */
public final class UnknownEntryException extends RuntimeException {

    private final String entryId;

    public UnknownEntryException(String entryId) {
        super("no entry " + entryId);
        this.entryId = entryId;
    }

    public String entryId() {
        return entryId;
    }
}
