package io.celluler.cas.store;

import java.sql.Connection;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

import io.celluler.cas.object.Manifest;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Buckets and the objects in them (tables of {@code V3__s3_buckets_and_objects.sql}). An object names content by
 * its manifest root; putting, overwriting and deleting change the manifest's reference count in the same
 * transaction ({@link ContentIndex}), so the garbage collector sees exactly what no object uses any more.
 *
 * <p>Keys are listed in the byte order of their UTF-8 encoding, as S3 lists them: on PostgreSQL the ordering uses
 * the "C" collation whatever the database's default is.
 */
@Component
public class ObjectIndex {

    /** The version id S3 gives objects of a bucket that was never versioned. */
    public static final String NULL_VERSION = "null";

    /**
     * A bucket; {@code replicationFactor}: copies of its content on distinct cells, this one included;
     * {@code erasure}: how its content is erasure-coded over other cells ({@link Erasure#NONE}: it is not);
     * {@code chunking}: how its objects are cut ({@code fastcdc} or {@code fixed}).
     */
    public record Bucket(String name, String tenant, Instant createdAt, String versioning, int replicationFactor,
            Erasure erasure, String chunking) {
    }

    /** Bucket versioning states, as S3 names them ({@code Off}: never enabled). */
    public static final String OFF = "Off";
    public static final String ENABLED = "Enabled";
    public static final String SUSPENDED = "Suspended";

    /**
     * One version of an object: content, or a delete marker ({@code manifestRoot} null). {@code id} orders the
     * versions of a key (higher is newer).
     */
    public record ObjectRow(long id, String bucket, String key, String versionId, boolean latest, boolean deleteMarker,
            String manifestRoot, long sizeBytes, String etag, String contentType, String userMetadataJson, Instant createdAt) {
    }

    /** What a delete without a version id did: the delete marker it added (versioned buckets), or nothing. */
    public record Deleted(boolean deleteMarker, String versionId) {
    }

    static final RowMapper<ObjectRow> OBJECT = (rs, i) -> new ObjectRow(rs.getLong("id"), rs.getString("bucket"),
            rs.getString("object_key"), rs.getString("version_id"), rs.getBoolean("is_latest"), rs.getBoolean("delete_marker"),
            rs.getString("manifest_root"), rs.getLong("size_bytes"), rs.getString("etag"), rs.getString("content_type"),
            rs.getString("user_metadata"), rs.getTimestamp("created_at").toInstant());
    private static final SecureRandom VERSION_IDS = new SecureRandom();

    private static final String BUCKET_COLUMNS = "SELECT name, tenant, created_at, versioning, replication_factor, chunking,"
            + " erasure_data_shards, erasure_parity_shards FROM bucket";
    private static final RowMapper<Bucket> BUCKET = (rs, i) -> new Bucket(rs.getString(1), rs.getString(2),
            rs.getTimestamp(3).toInstant(), rs.getString(4), rs.getInt(5), new Erasure(rs.getInt(7), rs.getInt(8)), rs.getString(6));
    private static final String UPLOAD_COLUMNS = "SELECT upload_id, bucket, object_key, content_type, user_metadata, created_at"
            + " FROM multipart_upload";
    private static final RowMapper<Upload> UPLOAD = (rs, i) -> new Upload(rs.getString(1), rs.getString(2), rs.getString(3),
            rs.getString(4), rs.getString(5), rs.getTimestamp(6).toInstant());

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final ContentIndex content;
    private final String keyOrder;

    public ObjectIndex(JdbcTemplate jdbc, TransactionTemplate tx, ContentIndex content) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.content = content;
        this.keyOrder = isPostgres(jdbc) ? "object_key COLLATE \"C\"" : "object_key";
    }

    private static boolean isPostgres(JdbcTemplate jdbc) {
        Boolean pg = jdbc.execute((Connection c) -> c.getMetaData().getDatabaseProductName().toLowerCase().contains("postgres"));
        return Boolean.TRUE.equals(pg);
    }

    // ---- buckets ------------------------------------------------------------------------------------------------

    public Optional<Bucket> bucket(String name) {
        return jdbc.query(BUCKET_COLUMNS + " WHERE name = ?", BUCKET, name).stream().findFirst();
    }

    public List<Bucket> buckets(String tenant) {
        return jdbc.query(BUCKET_COLUMNS + " WHERE tenant = ? ORDER BY name", BUCKET, tenant);
    }

    /** Creates a bucket; false when the name is taken (by anyone). */
    public boolean createBucket(String name, String tenant, int replicationFactor, Erasure erasure, String chunking,
            Instant now) {
        try {
            jdbc.update("INSERT INTO bucket (name, tenant, created_at, versioning, replication_factor, chunking,"
                    + " erasure_data_shards, erasure_parity_shards) VALUES (?, ?, ?, 'Off', ?, ?, ?, ?)", name, tenant,
                    Timestamp.from(ContentIndex.micros(now)), replicationFactor, chunking, erasure.dataShards(),
                    erasure.parityShards());
            return true;
        } catch (DuplicateKeyException taken) {
            return false;
        }
    }

    /** Turns versioning on ({@value #ENABLED}) or suspends it ({@value #SUSPENDED}); false when the bucket is gone. */
    public boolean setVersioning(String bucket, String status) {
        if (!ENABLED.equals(status) && !SUSPENDED.equals(status)) {
            throw new IllegalArgumentException("versioning is Enabled or Suspended, not " + status);
        }
        return jdbc.update("UPDATE bucket SET versioning = ? WHERE name = ?", status, bucket) == 1;
    }

    /** Deletes an empty bucket; false when it still holds objects. */
    public boolean deleteBucket(String name) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            Integer n = jdbc.queryForObject("SELECT (SELECT COUNT(*) FROM object_version WHERE bucket = ?)"
                    + " + (SELECT COUNT(*) FROM multipart_upload WHERE bucket = ?)", Integer.class, name, name);
            if (n != null && n > 0) {
                return false; // objects, or uploads in progress (S3 says BucketNotEmpty for both)
            }
            jdbc.update("DELETE FROM bucket WHERE name = ?", name);
            return true;
        }));
    }

    // ---- objects ------------------------------------------------------------------------------------------------

    /** The current version of an object, unless it is a delete marker (or there is none). */
    public Optional<ObjectRow> object(String bucket, String key) {
        return latest(bucket, key).filter(o -> !o.deleteMarker());
    }

    /** The latest version of an object, a delete marker included. */
    public Optional<ObjectRow> latest(String bucket, String key) {
        return jdbc.query("SELECT * FROM object_version WHERE bucket = ? AND latest_key = ?", OBJECT, bucket, key).stream()
                .findFirst();
    }

    /** One version of an object by its id ({@value #NULL_VERSION} for the version of an unversioned write). */
    public Optional<ObjectRow> version(String bucket, String key, String versionId) {
        return jdbc.query("SELECT * FROM object_version WHERE bucket = ? AND object_key = ? AND version_id = ?", OBJECT, bucket,
                key, versionId).stream().findFirst();
    }

    /**
     * Puts an object whose content is stored already: a new latest version (versioning enabled), or the version
     * {@value #NULL_VERSION} replaced (never versioned, or suspended); one reference on the manifest, the replaced
     * content's released, in one transaction. Durable when it returns.
     */
    public ObjectRow put(String bucket, String key, Manifest m, String etag, String contentType, String userMetadataJson,
            Instant now) {
        Instant at = ContentIndex.micros(now);
        return ContentIndex.retrying(() -> tx.execute(status -> replaceObject(bucket, key, m, etag, contentType, userMetadataJson, at)));
    }

    /** Inside a transaction: the object now names {@code m} (one reference more). */
    private ObjectRow replaceObject(String bucket, String key, Manifest m, String etag, String contentType,
            String userMetadataJson, Instant at) {
        content.addManifestReference(m, at);
        Bucket b = bucket(bucket).orElseThrow(() -> new IllegalStateException("bucket " + bucket + " is gone"));
        content.requireCopies(m.root(), b.replicationFactor(), at);
        content.requireErasure(m.root(), b.erasure(), at);
        return addVersion(bucket, key, m, etag, contentType, userMetadataJson, at);
    }

    /**
     * Inside a transaction: a new latest version of {@code key} — content, or a delete marker when {@code m} is
     * null — as the bucket's versioning says: a new version id when enabled, else the version
     * {@value #NULL_VERSION}, which replaces the earlier null version (its content's reference released).
     */
    private ObjectRow addVersion(String bucket, String key, Manifest m, String etag, String contentType, String userMetadataJson,
            Instant at) {
        String versioning = jdbc.queryForObject("SELECT versioning FROM bucket WHERE name = ?", String.class, bucket);
        String versionId = ENABLED.equals(versioning) ? newVersionId() : NULL_VERSION;
        if (versionId.equals(NULL_VERSION)) {
            removeLocked(lock("WHERE bucket = ? AND object_key = ? AND version_id = ?", bucket, key, NULL_VERSION), at);
        }
        jdbc.update("UPDATE object_version SET is_latest = FALSE, latest_key = NULL WHERE bucket = ? AND latest_key = ?", bucket, key);
        boolean marker = m == null;
        jdbc.update("INSERT INTO object_version (bucket, object_key, version_id, is_latest, latest_key, delete_marker, manifest_root,"
                        + " size_bytes, etag, content_type, user_metadata, created_at) VALUES (?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?, ?)",
                bucket, key, versionId, key, marker, marker ? null : m.root(), marker ? 0 : m.sizeBytes(), marker ? "" : etag,
                contentType, userMetadataJson, Timestamp.from(at));
        return version(bucket, key, versionId).orElseThrow();
    }

    private static String newVersionId() {
        byte[] b = new byte[16];
        VERSION_IDS.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Deletes an object as S3 does without a version id: in a bucket never versioned, the object goes (its content's
     * reference released); in a versioned one, a delete marker becomes its latest version (with version id
     * {@value #NULL_VERSION}, replacing the null version, when versioning is suspended).
     */
    public Deleted delete(String bucket, String key, Instant now) {
        Instant at = ContentIndex.micros(now);
        return ContentIndex.retrying(() -> tx.execute(status -> deleteLatest(bucket, key, at)));
    }

    /** Inside a transaction: {@link #delete}. */
    private Deleted deleteLatest(String bucket, String key, Instant at) {
        String versioning = jdbc.queryForObject("SELECT versioning FROM bucket WHERE name = ?", String.class, bucket);
        if (!OFF.equals(versioning)) {
            return new Deleted(true, addVersion(bucket, key, null, null, null, null, at).versionId());
        }
        removeLocked(lock("WHERE bucket = ? AND object_key = ?", bucket, key), at);
        return new Deleted(false, null);
    }

    /**
     * Removes one version for good (its content's reference released); when it was the latest, the next newest
     * version becomes the latest. Empty when there is no such version.
     */
    public Optional<ObjectRow> deleteVersion(String bucket, String key, String versionId, Instant now) {
        Instant at = ContentIndex.micros(now);
        return ContentIndex.retrying(() -> tx.execute(status -> {
            List<ObjectRow> rows = lock("WHERE bucket = ? AND object_key = ? AND version_id = ?", bucket, key, versionId);
            removeVersions(rows, at);
            return rows.stream().findFirst();
        }));
    }

    /**
     * Lifecycle expiration of a current version found by a query a moment ago: deleted as a client's DELETE would
     * (a delete marker in a versioned bucket), if it is still the current version, still content, and still
     * created before {@code cutoff} (a client may have written the key since). True when it was expired.
     */
    public boolean expireCurrent(ObjectRow found, Instant cutoff, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(ContentIndex.retrying(() -> tx.execute(status -> {
            List<ObjectRow> rows = lock("WHERE id = ? AND is_latest AND NOT delete_marker AND created_at < ?", found.id(),
                    Timestamp.from(cutoff));
            if (rows.isEmpty()) {
                return false;
            }
            deleteLatest(found.bucket(), found.key(), at);
            return true;
        })));
    }

    /**
     * Lifecycle removal of a version found by a query a moment ago, for good, if {@code stillApplies} holds for it
     * now (its row locked): a noncurrent version still noncurrent, a lone delete marker still alone.
     */
    public boolean removeVersionIf(ObjectRow found, java.util.function.Predicate<ObjectRow> stillApplies, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(ContentIndex.retrying(() -> tx.execute(status -> {
            List<ObjectRow> rows = lock("WHERE id = ?", found.id());
            if (rows.isEmpty() || !stillApplies.test(rows.get(0))) {
                return false;
            }
            removeVersions(rows, at);
            return true;
        })));
    }

    /** How many versions (delete markers too) a key has. */
    public int versionCount(String bucket, String key) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM object_version WHERE bucket = ? AND object_key = ?", Integer.class,
                bucket, key);
        return n == null ? 0 : n;
    }

    /** Inside a transaction: the versions matching {@code where}, their rows locked until it ends. */
    private List<ObjectRow> lock(String where, Object... args) {
        return jdbc.query("SELECT * FROM object_version " + where + " FOR UPDATE", OBJECT, args);
    }

    /**
     * Inside a transaction: deletes locked rows; a content reference is released only for a row this transaction
     * really deleted (one that a concurrent transaction deleted first while we waited for its lock is not released
     * twice).
     */
    private void removeLocked(List<ObjectRow> rows, Instant at) {
        for (ObjectRow r : rows) {
            if (jdbc.update("DELETE FROM object_version WHERE id = ?", r.id()) == 1 && r.manifestRoot() != null) {
                content.releaseManifestReference(r.manifestRoot(), at);
            }
        }
    }

    /** Inside a transaction: {@link #removeLocked}, and when the latest went, the next newest becomes the latest. */
    private void removeVersions(List<ObjectRow> rows, Instant at) {
        removeLocked(rows, at);
        for (ObjectRow r : rows) {
            if (r.latest()) {
                jdbc.update("UPDATE object_version SET is_latest = TRUE, latest_key = object_key WHERE id = (SELECT MAX(id)"
                        + " FROM object_version WHERE bucket = ? AND object_key = ?)", r.bucket(), r.key());
            }
        }
    }

    /**
     * Current objects of a bucket whose key starts with {@code prefix} and sorts after {@code after}, in key order,
     * at most {@code limit}.
     */
    public List<ObjectRow> list(String bucket, String prefix, String after, int limit) {
        return jdbc.query("SELECT * FROM object_version WHERE bucket = ? AND is_latest AND NOT delete_marker"
                        + " AND object_key LIKE ? ESCAPE '\\' AND " + keyOrder + " > ? ORDER BY " + keyOrder + " LIMIT " + limit,
                OBJECT, bucket, like(prefix), after);
    }

    /**
     * Every version (delete markers too) of the keys starting with {@code prefix}, in key order and newest first per
     * key, from after the version {@code afterId} of key {@code afterKey} ({@code Long.MIN_VALUE}: after that whole
     * key), at most {@code limit}.
     */
    public List<ObjectRow> versions(String bucket, String prefix, String afterKey, long afterId, int limit) {
        return jdbc.query("SELECT * FROM object_version WHERE bucket = ? AND object_key LIKE ? ESCAPE '\\' AND (" + keyOrder
                        + " > ? OR (object_key = ? AND id < ?)) ORDER BY " + keyOrder + ", id DESC LIMIT " + limit,
                OBJECT, bucket, like(prefix), afterKey, afterKey, afterId);
    }

    static String like(String prefix) {
        return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
    }

    // ---- multipart uploads ----------------------------------------------------------------------------------

    public record Upload(String uploadId, String bucket, String key, String contentType, String userMetadataJson,
            Instant createdAt) {
    }

    public record Part(int partNumber, String manifestRoot, long sizeBytes, String etag, Instant createdAt) {
    }

    public Upload createUpload(String bucket, String key, String contentType, String userMetadataJson, Instant now) {
        String id = java.util.UUID.randomUUID().toString().replace("-", "");
        Instant at = ContentIndex.micros(now);
        jdbc.update("INSERT INTO multipart_upload (upload_id, bucket, object_key, content_type, user_metadata, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?)", id, bucket, key, contentType, userMetadataJson, Timestamp.from(at));
        return new Upload(id, bucket, key, contentType, userMetadataJson, at);
    }

    public Optional<Upload> upload(String uploadId) {
        return jdbc.query(UPLOAD_COLUMNS + " WHERE upload_id = ?", UPLOAD, uploadId).stream().findFirst();
    }

    public List<Upload> uploads(String bucket, int limit) {
        return jdbc.query(UPLOAD_COLUMNS + " WHERE bucket = ? ORDER BY object_key, created_at LIMIT " + limit, UPLOAD, bucket);
    }

    public List<Part> parts(String uploadId) {
        return jdbc.query("SELECT part_number, manifest_root, size_bytes, etag, created_at FROM multipart_part WHERE upload_id = ?"
                + " ORDER BY part_number", (rs, i) -> new Part(rs.getInt(1), rs.getString(2), rs.getLong(3), rs.getString(4),
                rs.getTimestamp(5).toInstant()), uploadId);
    }

    /** Stores a part (a part uploaded again replaces the earlier one); false when the upload is gone. */
    public boolean putPart(String uploadId, int partNumber, Manifest m, String etag, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(ContentIndex.retrying(() -> tx.execute(status -> {
            if (lockUpload(uploadId).isEmpty()) {
                return false;
            }
            content.addManifestReference(m, at);
            List<String> replaced = jdbc.queryForList("SELECT manifest_root FROM multipart_part WHERE upload_id = ? AND"
                    + " part_number = ?", String.class, uploadId, partNumber);
            jdbc.update("DELETE FROM multipart_part WHERE upload_id = ? AND part_number = ?", uploadId, partNumber);
            replaced.forEach(root -> content.releaseManifestReference(root, at));
            jdbc.update("INSERT INTO multipart_part (upload_id, part_number, manifest_root, size_bytes, etag, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?)", uploadId, partNumber, m.root(), m.sizeBytes(), etag, Timestamp.from(at));
            return true;
        })));
    }

    /**
     * Inside a transaction: the upload, its row locked, so that a concurrent part, complete or abort of the same
     * upload waits for this transaction (or finds the upload gone).
     */
    private Optional<Upload> lockUpload(String uploadId) {
        return jdbc.query(UPLOAD_COLUMNS + " WHERE upload_id = ? FOR UPDATE", UPLOAD, uploadId).stream().findFirst();
    }

    /** Drops an upload and its parts' references; false when it was not there. */
    public boolean abort(String uploadId, Instant now) {
        Instant at = ContentIndex.micros(now);
        return Boolean.TRUE.equals(tx.execute(status -> {
            if (lockUpload(uploadId).isEmpty()) {
                return false;
            }
            dropUpload(uploadId, at);
            return true;
        }));
    }

    private void dropUpload(String uploadId, Instant at) {
        List<String> roots = jdbc.queryForList("SELECT manifest_root FROM multipart_part WHERE upload_id = ?", String.class, uploadId);
        jdbc.update("DELETE FROM multipart_part WHERE upload_id = ?", uploadId);
        jdbc.update("DELETE FROM multipart_upload WHERE upload_id = ?", uploadId);
        roots.forEach(root -> content.releaseManifestReference(root, at));
    }

    /**
     * Completes an upload: the listed parts' chunk lists, in order, become the object's manifest, the object is put,
     * and the upload and its parts go; one transaction. {@code check} sees the stored parts (under the upload's lock)
     * and returns the manifest and ETag or throws the client's error.
     */
    public Optional<ObjectRow> complete(String uploadId, java.util.function.Function<List<Part>, Completed> check, Instant now) {
        Instant at = ContentIndex.micros(now);
        return ContentIndex.retrying(() -> tx.execute(status -> {
            Optional<Upload> u = lockUpload(uploadId);
            if (u.isEmpty()) {
                return Optional.<ObjectRow>empty();
            }
            Completed c = check.apply(parts(uploadId));
            ObjectRow row = replaceObject(u.get().bucket(), u.get().key(), c.manifest(), c.etag(), u.get().contentType(),
                    u.get().userMetadataJson(), at);
            dropUpload(uploadId, at);
            return Optional.of(row);
        }));
    }

    /** What a completion names: the object's manifest and its ETag. */
    public record Completed(Manifest manifest, String etag) {
    }
}
