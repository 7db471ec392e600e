-- catalog-service: this cell's replica of the catalog (see docs/architecture/catalog-service.md). Runs on
-- PostgreSQL and on H2 in PostgreSQL mode.

-- Each entry's CRDT state (celluler.catalog.v1.EntryCrdt bytes, canonical); tombstones too, until collected.
CREATE TABLE catalog_entry (
    entry_id  VARCHAR(32) NOT NULL PRIMARY KEY,
    state     BYTEA       NOT NULL
);

-- This cell's own changes (deltas, EntryCrdt bytes) by number, kept until every member acknowledged them.
CREATE TABLE catalog_log (
    seq    BIGINT NOT NULL PRIMARY KEY,
    delta  BYTEA  NOT NULL
);

-- One row: the cell id the replica writes as, the number of its last change and the replica's knowledge (a
-- CausalContext over (cell, change number)).
CREATE TABLE catalog_replica (
    id         INT          NOT NULL PRIMARY KEY,
    cell_id    VARCHAR(128) NOT NULL,
    seq        BIGINT       NOT NULL,
    knowledge  BYTEA        NOT NULL
);

-- Per other cell: the last of this cell's changes it acknowledged and its last reported knowledge.
CREATE TABLE catalog_peer (
    cell_id  VARCHAR(128) NOT NULL PRIMARY KEY,
    acked    BIGINT       NOT NULL,
    report   BYTEA        NOT NULL
);

-- The changes readers saw, in the order this cell applied them: what WatchEntries replays from a cursor.
-- kind: 1 created, 2 updated, 3 deleted. state: the entry after the change (EntryCrdt bytes).
CREATE TABLE catalog_change (
    change_no   BIGINT                   NOT NULL PRIMARY KEY,
    entry_id    VARCHAR(32)              NOT NULL,
    kind        SMALLINT                 NOT NULL,
    state       BYTEA                    NOT NULL,
    changed_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
