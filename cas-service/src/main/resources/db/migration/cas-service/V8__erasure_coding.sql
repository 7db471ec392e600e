-- Erasure-coded content (runs on PostgreSQL and on H2 in PostgreSQL mode): every chunk cut into k data and m parity
-- shards (Reed-Solomon), shard index i of all of a content's chunks kept by one other cell.

-- Set when the bucket is created: 0 and 0 when its content is not erasure-coded.
ALTER TABLE bucket ADD COLUMN erasure_data_shards INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE bucket ADD COLUMN erasure_parity_shards INTEGER DEFAULT 0 NOT NULL;

-- Content this cell keeps erasure-coded on other cells (the first scheme asked for wins while the manifest lives).
-- When the manifest loses its last reference, the shards are released and the row goes.
CREATE TABLE erasure (
    root           VARCHAR(64)              NOT NULL PRIMARY KEY,
    data_shards    INTEGER                  NOT NULL CHECK (data_shards >= 1),
    parity_shards  INTEGER                  NOT NULL CHECK (parity_shards >= 1),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Which cell was asked to keep each shard index of erasure-coded content, and what it last answered.
CREATE TABLE erasure_placement (
    root            VARCHAR(64)              NOT NULL,
    shard_index     INTEGER                  NOT NULL,
    cell_id         VARCHAR(64)              NOT NULL,
    chunks_missing  INTEGER                  NOT NULL,
    checked_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (root, shard_index)
);

-- Shards this cell keeps for other cells. shard_root is set once every shard is here: the manifest (stored like any
-- other, one reference held) whose chunks are the shards, in the order of the content's chunks.
CREATE TABLE shard_hold (
    root           VARCHAR(64)              NOT NULL,
    origin_cell    VARCHAR(64)              NOT NULL,
    shard_index    INTEGER                  NOT NULL,
    data_shards    INTEGER                  NOT NULL,
    parity_shards  INTEGER                  NOT NULL,
    size_bytes     BIGINT                   NOT NULL,
    chunk_count    INTEGER                  NOT NULL,
    shard_root     VARCHAR(64)              REFERENCES manifest (root),
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (root, origin_cell, shard_index)
);
CREATE INDEX shard_hold_shard_root ON shard_hold (shard_root);

-- Which stored shard is shard i of a chunk under (k, m): how this cell answers for shards it keeps. A row goes when
-- its shard's chunk row is collected.
CREATE TABLE shard_map (
    chunk_hash     VARCHAR(64) NOT NULL,
    data_shards    INTEGER     NOT NULL,
    parity_shards  INTEGER     NOT NULL,
    shard_index    INTEGER     NOT NULL,
    shard_hash     VARCHAR(64) NOT NULL,
    PRIMARY KEY (chunk_hash, data_shards, parity_shards, shard_index)
);
CREATE INDEX shard_map_shard ON shard_map (shard_hash);
