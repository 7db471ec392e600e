-- Feeds of other cells followed here (replicas). A replica's row in `feed` has no secret key; its `name` column
-- holds the feed key (names of owned feeds stay unique; 64 hex characters are reserved for replicas) and
-- `remote_name` the owner's name for it. Its length and byte length are those of the newest verified signed root;
-- its entries are stored sparsely (any subset, each verified against a signed root before it was written).
ALTER TABLE feed ADD COLUMN owner_cell_id VARCHAR(64);
ALTER TABLE feed ADD COLUMN remote_name VARCHAR(128);

-- What this cell follows of a replica: the chosen index ranges ('' = all; 'start-end;...', end 0 = open), live
-- tail, the cells named as sources, counters, and a fork once seen (then it is no longer followed).
CREATE TABLE feed_follow (
    feed_key        VARCHAR(64)  NOT NULL PRIMARY KEY REFERENCES feed (feed_key),
    following       BOOLEAN      NOT NULL,
    ranges          VARCHAR(8192) NOT NULL,
    live            BOOLEAN      NOT NULL,
    sources         VARCHAR(8192) NOT NULL,
    downloaded      BIGINT       NOT NULL,
    rejected        BIGINT       NOT NULL,
    last_synced_at  TIMESTAMP WITH TIME ZONE,
    forked          BOOLEAN      NOT NULL
);

-- Two signed roots of one feed, both signed by its key, that cannot both be true (same length and different roots,
-- or a longer tree whose nodes hold other roots at the shorter length): the proof that the owner forked the feed.
CREATE TABLE fork_evidence (
    feed_key     VARCHAR(64) NOT NULL REFERENCES feed (feed_key),
    seq          INT         NOT NULL,
    length       BIGINT      NOT NULL,
    byte_length  BIGINT      NOT NULL,
    root_hash    BYTEA       NOT NULL,
    signature    BYTEA       NOT NULL,
    PRIMARY KEY (feed_key, seq)
);
