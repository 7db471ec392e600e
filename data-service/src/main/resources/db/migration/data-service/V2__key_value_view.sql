-- The key-value view of key-value feeds (the Hyperbee idea): every change of a key, by the version (feed length)
-- after it. The feed's entries are the truth (each encodes its operation); this table indexes them. Keys are their
-- UTF-8 bytes, so that every database orders them the same way (byte order).
CREATE TABLE kv_change (
    feed_key   VARCHAR(64) NOT NULL REFERENCES feed (feed_key),
    key_bytes  BYTEA       NOT NULL,
    version    BIGINT      NOT NULL,
    deleted    BOOLEAN     NOT NULL,
    val        BYTEA       NOT NULL,
    PRIMARY KEY (feed_key, key_bytes, version)
);
CREATE INDEX kv_change_version ON kv_change (feed_key, version);
