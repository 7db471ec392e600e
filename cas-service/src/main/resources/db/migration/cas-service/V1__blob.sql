-- Blobs addressed by the SHA-256 of their bytes (runs on PostgreSQL and on H2 in PostgreSQL mode).
CREATE TABLE blob (
    sha256      VARCHAR(64)              NOT NULL PRIMARY KEY,
    size_bytes  BIGINT                   NOT NULL CHECK (size_bytes > 0),
    media_type  VARCHAR(255),
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
