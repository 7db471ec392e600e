-- state-service: the replicated state machine (see docs/architecture/state-service.md). Runs on PostgreSQL and on
-- H2 in PostgreSQL mode. Nodes and values are content-addressed and never change, so writing one twice (a block
-- applied again after a crash) is harmless; a height counts as applied once its state_height row is committed, in
-- the same transaction as everything the height wrote.

-- Sparse Merkle tree nodes by hash: kind 0 a leaf (a = key path, b = value hash), kind 1 an internal node
-- (a = left child hash, b = right child hash).
CREATE TABLE state_node (
    hash  BYTEA    NOT NULL PRIMARY KEY,
    kind  SMALLINT NOT NULL,
    a     BYTEA    NOT NULL,
    b     BYTEA    NOT NULL
);

-- Values by SHA-256.
CREATE TABLE state_value (
    hash   BYTEA NOT NULL PRIMARY KEY,
    body   BYTEA NOT NULL
);

-- One row per applied height: the root after it and the block it came from.
CREATE TABLE state_height (
    height           BIGINT      NOT NULL PRIMARY KEY,
    root             BYTEA       NOT NULL,
    block_hash       VARCHAR(64) NOT NULL,
    tx_count         INT         NOT NULL,
    failed_tx_count  INT         NOT NULL,
    applied_at       TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Each key's changes: its value hash after the height (NULL: deleted) and the transaction that wrote it last.
CREATE TABLE state_change (
    namespace   VARCHAR(64)   NOT NULL,
    skey        VARCHAR(1024) NOT NULL,
    height      BIGINT        NOT NULL,
    value_hash  BYTEA,
    tx_id       VARCHAR(64)   NOT NULL,
    PRIMARY KEY (namespace, skey, height)
);

-- Namespaces written so far, with their live key counts.
CREATE TABLE state_namespace (
    namespace            VARCHAR(64) NOT NULL PRIMARY KEY,
    key_count            BIGINT      NOT NULL,
    last_changed_height  BIGINT      NOT NULL
);

-- Every state transaction's outcome.
CREATE TABLE state_tx (
    tx_id    VARCHAR(64)   NOT NULL PRIMARY KEY,
    height   BIGINT        NOT NULL,
    applied  BOOLEAN       NOT NULL,
    failure  VARCHAR(2048) NOT NULL
);
