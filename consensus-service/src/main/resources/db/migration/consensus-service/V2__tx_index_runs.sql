-- The transaction index becomes a log-structured merge index (store/TxIndex): sorted runs written once, instead of
-- a B-tree over random ids that the embedded H2 rewrote leaf by leaf at every commit (docs/benchmarks.md).
-- The index is derived from consensus_block: at start-up the service indexes again every block above the heights
-- the runs cover, so dropping the old table loses nothing (an existing ledger is indexed again once).
DROP TABLE consensus_tx;

-- One sorted run: the heights it covers, its Bloom filter and the first id of each page (both loaded at start-up).
CREATE TABLE consensus_tx_run (
    run_id       BIGINT  NOT NULL PRIMARY KEY,
    level        INTEGER NOT NULL,
    from_height  BIGINT  NOT NULL,
    to_height    BIGINT  NOT NULL,
    entries      INTEGER NOT NULL,
    bloom        BYTEA   NOT NULL,
    fences       BYTEA   NOT NULL
);

-- A run's entries in id order, 1,024 to a page: id (32 bytes), height (8), position (4), big-endian.
-- Pages are written before their run's row; pages without a row (a crash mid-merge) are deleted on start-up.
CREATE TABLE consensus_tx_run_page (
    run_id   BIGINT  NOT NULL,
    page_no  INTEGER NOT NULL,
    data     BYTEA   NOT NULL,
    PRIMARY KEY (run_id, page_no)
);
