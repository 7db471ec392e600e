package io.celluler.cas.store;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

import io.celluler.cas.store.ObjectIndex.ObjectRow;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Buckets' lifecycle rules (table {@code lifecycle_rule} of {@code V6__s3_versioning_and_lifecycle.sql}) and the
 * queries that find what a rule applies to: each bounded by a limit, so a pass of the lifecycle worker does bounded
 * work however large the bucket.
 */
@Component
public class LifecycleIndex {

    private static final RowMapper<LifecycleRule> RULE = (rs, i) -> new LifecycleRule(rs.getString("rule_id"),
            rs.getString("prefix"), rs.getBoolean("enabled"), (Integer) rs.getObject("expiration_days"),
            rs.getTimestamp("expiration_date") == null ? null : rs.getTimestamp("expiration_date").toInstant(),
            rs.getBoolean("expired_object_delete_marker"), (Integer) rs.getObject("noncurrent_days"),
            (Integer) rs.getObject("newer_noncurrent_versions"), (Integer) rs.getObject("abort_multipart_days"));

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;

    public LifecycleIndex(JdbcTemplate jdbc, TransactionTemplate tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /** A bucket's rules in their order (empty: no lifecycle configuration). */
    public List<LifecycleRule> rules(String bucket) {
        return jdbc.query("SELECT * FROM lifecycle_rule WHERE bucket = ? ORDER BY position", RULE, bucket);
    }

    /** Replaces a bucket's rules as a whole (an empty list removes the configuration). */
    public void setRules(String bucket, List<LifecycleRule> rules) {
        tx.executeWithoutResult(status -> {
            jdbc.update("DELETE FROM lifecycle_rule WHERE bucket = ?", bucket);
            int position = 0;
            for (LifecycleRule r : rules) {
                jdbc.update("INSERT INTO lifecycle_rule (bucket, position, rule_id, prefix, enabled, expiration_days, expiration_date,"
                                + " expired_object_delete_marker, noncurrent_days, newer_noncurrent_versions, abort_multipart_days)"
                                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", bucket, position++, r.id(), r.prefix(), r.enabled(),
                        r.expirationDays(), r.expirationDate() == null ? null : Timestamp.from(r.expirationDate()),
                        r.expiredObjectDeleteMarker(), r.noncurrentDays(), r.newerNoncurrentVersions(), r.abortMultipartDays());
            }
        });
    }

    /** Buckets with at least one enabled rule. */
    public List<String> bucketsWithRules() {
        return jdbc.queryForList("SELECT DISTINCT bucket FROM lifecycle_rule WHERE enabled ORDER BY bucket", String.class);
    }

    /** Current versions (not delete markers) under {@code prefix} created before {@code cutoff}. */
    public List<ObjectRow> currentCreatedBefore(String bucket, String prefix, Instant cutoff, int limit) {
        return jdbc.query("SELECT * FROM object_version WHERE bucket = ? AND is_latest AND NOT delete_marker AND object_key LIKE ?"
                + " ESCAPE '\\' AND created_at < ? ORDER BY id LIMIT " + limit, ObjectIndex.OBJECT, bucket, ObjectIndex.like(prefix),
                Timestamp.from(cutoff));
    }

    /**
     * Noncurrent versions under {@code prefix} that a newer version replaced before {@code cutoff}, except the
     * {@code keepNewer} newest noncurrent versions of each key.
     */
    public List<ObjectRow> noncurrentReplacedBefore(String bucket, String prefix, Instant cutoff, int keepNewer, int limit) {
        return jdbc.query("SELECT * FROM object_version v WHERE v.bucket = ? AND NOT v.is_latest AND v.object_key LIKE ? ESCAPE '\\'"
                        + " AND (SELECT MIN(n.created_at) FROM object_version n WHERE n.bucket = v.bucket AND n.object_key = v.object_key"
                        + " AND n.id > v.id) < ?"
                        + " AND (SELECT COUNT(*) FROM object_version n WHERE n.bucket = v.bucket AND n.object_key = v.object_key"
                        + " AND NOT n.is_latest AND n.id > v.id) >= ? ORDER BY v.id LIMIT " + limit,
                ObjectIndex.OBJECT, bucket, ObjectIndex.like(prefix), Timestamp.from(cutoff), keepNewer);
    }

    /** Delete markers under {@code prefix}, made before {@code cutoff}, that are the only version left of their key. */
    public List<ObjectRow> loneDeleteMarkers(String bucket, String prefix, Instant cutoff, int limit) {
        return jdbc.query("SELECT * FROM object_version v WHERE v.bucket = ? AND v.is_latest AND v.delete_marker AND v.object_key"
                        + " LIKE ? ESCAPE '\\' AND v.created_at < ? AND NOT EXISTS (SELECT 1 FROM object_version n WHERE"
                        + " n.bucket = v.bucket AND n.object_key = v.object_key AND n.id <> v.id) ORDER BY v.id LIMIT " + limit,
                ObjectIndex.OBJECT, bucket, ObjectIndex.like(prefix), Timestamp.from(cutoff));
    }

    /** Multipart uploads under {@code prefix} begun before {@code cutoff}. */
    public List<String> uploadsBegunBefore(String bucket, String prefix, Instant cutoff, int limit) {
        return jdbc.queryForList("SELECT upload_id FROM multipart_upload WHERE bucket = ? AND object_key LIKE ? ESCAPE '\\'"
                + " AND created_at < ? ORDER BY created_at LIMIT " + limit, String.class, bucket, ObjectIndex.like(prefix),
                Timestamp.from(cutoff));
    }
}
