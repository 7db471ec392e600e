-- Signed append-only feeds (runs on PostgreSQL and on H2 in PostgreSQL mode).

-- A feed: its Ed25519 public key (hex) names it. secret_key is the 32-byte private seed, kept on the owning cell
-- only (encryption at rest comes with the security issue). length and byte_length are the committed tree's.
CREATE TABLE feed (
    feed_key     VARCHAR(64)              NOT NULL PRIMARY KEY,
    name         VARCHAR(128)             NOT NULL UNIQUE,
    feed_type    VARCHAR(16)              NOT NULL,
    secret_key   BYTEA,
    length       BIGINT                   NOT NULL CHECK (length >= 0),
    byte_length  BIGINT                   NOT NULL CHECK (byte_length >= 0),
    labels       VARCHAR(8192)            NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Entries by index.
CREATE TABLE feed_entry (
    feed_key  VARCHAR(64) NOT NULL REFERENCES feed (feed_key),
    idx       BIGINT      NOT NULL,
    data      BYTEA       NOT NULL,
    PRIMARY KEY (feed_key, idx)
);

-- Every complete node of the flat in-order tree (leaves at even indexes): written once, never changed.
CREATE TABLE tree_node (
    feed_key    VARCHAR(64) NOT NULL REFERENCES feed (feed_key),
    idx         BIGINT      NOT NULL,
    hash        BYTEA       NOT NULL,
    size_bytes  BIGINT      NOT NULL,
    PRIMARY KEY (feed_key, idx)
);

-- The owner's signature over the tree after each append.
CREATE TABLE signed_root (
    feed_key     VARCHAR(64) NOT NULL REFERENCES feed (feed_key),
    length       BIGINT      NOT NULL,
    byte_length  BIGINT      NOT NULL,
    root_hash    BYTEA       NOT NULL,
    signature    BYTEA       NOT NULL,
    PRIMARY KEY (feed_key, length)
);
