-- Replication between cells (runs on PostgreSQL and on H2 in PostgreSQL mode).

-- Copies a bucket's content is kept in, on distinct cells (this one included); set when the bucket is created.
ALTER TABLE bucket ADD COLUMN replication_factor INTEGER DEFAULT 1 NOT NULL;

-- Content this cell keeps in more than one copy: the largest factor any reference asked for while the manifest
-- lives. When the manifest loses its last reference, its copies on other cells are released and the row goes.
CREATE TABLE replication (
    root        VARCHAR(64)              NOT NULL PRIMARY KEY,
    factor      INTEGER                  NOT NULL CHECK (factor >= 2),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- The other cells asked to keep a copy of a replicated manifest for this cell, and what each last answered.
CREATE TABLE replica_placement (
    root            VARCHAR(64)              NOT NULL,
    cell_id         VARCHAR(64)              NOT NULL,
    chunks_missing  INTEGER                  NOT NULL,
    checked_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (root, cell_id)
);

-- Copies this cell keeps for other cells: each holds one reference on its manifest until its origin releases it.
CREATE TABLE replica_hold (
    root         VARCHAR(64)              NOT NULL REFERENCES manifest (root),
    origin_cell  VARCHAR(64)              NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (root, origin_cell)
);
