-- The ledger of committed blocks, the block tree above it and the safety state (PostgreSQL and H2 in PostgreSQL mode).

-- Committed blocks, hash-chained: block_data is the block with its transactions (wire encoding), finality its
-- finality proof without the validator set (header, certificate, commit chain; API encoding).
CREATE TABLE consensus_block (
    height        BIGINT                   NOT NULL PRIMARY KEY CHECK (height > 0),
    block_hash    VARCHAR(64)              NOT NULL UNIQUE,
    parent_hash   VARCHAR(64)              NOT NULL,
    view_number   BIGINT                   NOT NULL,
    tx_count      INTEGER                  NOT NULL,
    proposer      VARCHAR(64)              NOT NULL,
    proposed_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    committed_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    block_data    BYTEA                    NOT NULL,
    finality      BYTEA                    NOT NULL
);

-- Where each committed transaction is. Not unique by id: a faulty leader may order one twice; the first counts.
CREATE TABLE consensus_tx (
    height    BIGINT      NOT NULL REFERENCES consensus_block (height),
    position  INTEGER     NOT NULL,
    tx_id     VARCHAR(64) NOT NULL,
    PRIMARY KEY (height, position)
);
CREATE INDEX consensus_tx_by_id ON consensus_tx (tx_id);

-- Blocks above the committed tip this validator has accepted (DiemBFT's block store): given back to the
-- engine on restart, deleted once committed or pruned.
CREATE TABLE consensus_tree_block (
    block_id    VARCHAR(64) NOT NULL PRIMARY KEY,
    height      BIGINT      NOT NULL,
    block_data  BYTEA       NOT NULL
);

-- The safety state (one row), written before any vote or timeout leaves.
CREATE TABLE consensus_safety (
    id          SMALLINT                 NOT NULL PRIMARY KEY,
    state       BYTEA                    NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
