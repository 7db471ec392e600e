-- S3 multipart uploads in progress and their parts. A part's content is a manifest like any other (its reference
-- counted in manifest.ref_count) until the upload completes (the parts' chunk lists become the object's one
-- manifest) or is aborted.
CREATE TABLE multipart_upload (
    upload_id      VARCHAR(64)              NOT NULL PRIMARY KEY,
    bucket         VARCHAR(63)              NOT NULL REFERENCES bucket (name),
    object_key     VARCHAR(1024)            NOT NULL,
    content_type   VARCHAR(255),
    user_metadata  VARCHAR(8192),
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX multipart_upload_bucket ON multipart_upload (bucket, object_key);

CREATE TABLE multipart_part (
    upload_id      VARCHAR(64)              NOT NULL REFERENCES multipart_upload (upload_id),
    part_number    INTEGER                  NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    manifest_root  VARCHAR(64)              NOT NULL REFERENCES manifest (root),
    size_bytes     BIGINT                   NOT NULL,
    etag           VARCHAR(64)              NOT NULL,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
