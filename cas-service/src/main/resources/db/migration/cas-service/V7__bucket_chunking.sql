-- How a bucket's objects are cut into chunks: 'fastcdc' (content-defined) or 'fixed' (the seed's fixed-size segments),
-- with the sizes the cell is configured with (celluler.cas.chunking.*). Set when the bucket is created.
ALTER TABLE bucket ADD COLUMN chunking VARCHAR(16) DEFAULT 'fastcdc' NOT NULL;
