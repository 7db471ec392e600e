-- Content-defined chunks, manifests and pins (runs on PostgreSQL and on H2 in PostgreSQL mode).
-- The whole-blob slice (V1) is replaced: before the first release, its blobs are not carried over.
DROP TABLE blob;

-- One row per distinct chunk stored on this cell. ref_count counts the references from manifests (a chunk that
-- appears twice in one manifest counts twice); at 0, unreferenced_since starts the grace period after which the
-- garbage collector may remove it.
CREATE TABLE chunk (
    hash               VARCHAR(64)              NOT NULL PRIMARY KEY,
    size_bytes         INTEGER                  NOT NULL CHECK (size_bytes > 0),
    ref_count          BIGINT                   NOT NULL CHECK (ref_count >= 0),
    unreferenced_since TIMESTAMP WITH TIME ZONE,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX chunk_unreferenced ON chunk (unreferenced_since);

-- An object's content: its chunks in order. root is the Merkle root (RFC 6962 hashing) of the chunk hashes;
-- chunk_list packs, per chunk, its 32-byte hash and its length as 4 bytes (big-endian). ref_count counts pins,
-- object versions and upload parts that use this content.
CREATE TABLE manifest (
    root               VARCHAR(64)              NOT NULL PRIMARY KEY,
    content_sha256     VARCHAR(64)              NOT NULL,
    size_bytes         BIGINT                   NOT NULL CHECK (size_bytes >= 0),
    chunk_count        INTEGER                  NOT NULL CHECK (chunk_count >= 0),
    chunk_list         BYTEA                    NOT NULL,
    ref_count          BIGINT                   NOT NULL CHECK (ref_count >= 0),
    unreferenced_since TIMESTAMP WITH TIME ZONE,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX manifest_content ON manifest (content_sha256);
CREATE INDEX manifest_unreferenced ON manifest (unreferenced_since);

-- Content kept by its root alone (CasService/Put without a bucket): one reference on its manifest.
CREATE TABLE pin (
    root        VARCHAR(64)              NOT NULL PRIMARY KEY REFERENCES manifest (root),
    media_type  VARCHAR(255),
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
