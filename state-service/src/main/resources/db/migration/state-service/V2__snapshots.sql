-- Snapshots of the whole state this cell holds (content in <data-dir>/snapshots/<height>.snap).
CREATE TABLE state_snapshot (
    height          BIGINT      NOT NULL PRIMARY KEY,
    root            BYTEA       NOT NULL,
    block_hash      VARCHAR(64) NOT NULL,
    content_sha256  VARCHAR(64) NOT NULL,
    size_bytes      BIGINT      NOT NULL,
    key_count       BIGINT      NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
