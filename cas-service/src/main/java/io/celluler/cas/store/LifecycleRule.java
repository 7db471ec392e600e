package io.celluler.cas.store;

import java.time.Instant;

/**
 * One rule of a bucket's lifecycle configuration (S3's {@code LifecycleConfiguration}): which keys it applies to and
 * what it does to them. Unset actions are null (or false).
 *
 * @param id                        the rule's name (unique in its bucket)
 * @param prefix                    keys it applies to ("" for all)
 * @param enabled                   Enabled or Disabled
 * @param expirationDays            current versions expire this many days after their creation
 * @param expirationDate            current versions expire on this date (midnight UTC)
 * @param expiredObjectDeleteMarker a delete marker that is the only version of its key is removed
 * @param noncurrentDays            noncurrent versions go this many days after a newer version replaced them
 * @param newerNoncurrentVersions   ... except the newest this many noncurrent versions of each key
 * @param abortMultipartDays        uploads in progress are aborted this many days after they began
 */
public record LifecycleRule(String id, String prefix, boolean enabled, Integer expirationDays, Instant expirationDate,
        boolean expiredObjectDeleteMarker, Integer noncurrentDays, Integer newerNoncurrentVersions, Integer abortMultipartDays) {
}
