-- S3 bucket versioning and lifecycle rules (runs on PostgreSQL and on H2 in PostgreSQL mode).

-- The key of the one latest version of an object (NULL on the others): unique per bucket, so two uploads of one key
-- racing each other cannot both become the latest (the second one's transaction fails, and is run again).
ALTER TABLE object_version ADD COLUMN latest_key VARCHAR(1024);
UPDATE object_version SET latest_key = object_key WHERE is_latest;
CREATE UNIQUE INDEX object_version_one_latest ON object_version (bucket, latest_key);
-- the versions of one key, newest first
CREATE INDEX object_version_history ON object_version (bucket, object_key, id);

-- A bucket's lifecycle configuration: its rules in the order given. Days count from an object's creation (or,
-- for noncurrent versions, from when a newer version replaced it), rounded to midnight UTC as S3 does.
CREATE TABLE lifecycle_rule (
    bucket                        VARCHAR(63)              NOT NULL REFERENCES bucket (name) ON DELETE CASCADE,
    position                      INTEGER                  NOT NULL,
    rule_id                       VARCHAR(255)             NOT NULL,
    prefix                        VARCHAR(1024)            NOT NULL,
    enabled                       BOOLEAN                  NOT NULL,
    expiration_days               INTEGER,
    expiration_date               TIMESTAMP WITH TIME ZONE,
    expired_object_delete_marker  BOOLEAN                  NOT NULL,
    noncurrent_days               INTEGER,
    newer_noncurrent_versions     INTEGER,
    abort_multipart_days          INTEGER,
    PRIMARY KEY (bucket, position)
);
