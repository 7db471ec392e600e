package io.celluler.cas.s3;

import static io.celluler.cas.s3.S3Api.param;
import static io.celluler.cas.s3.S3Api.xml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.celluler.cas.store.ObjectIndex;
import io.celluler.cas.store.ObjectIndex.ObjectRow;
import jakarta.servlet.http.HttpServletResponse;

/**
 * The listings of a bucket: current objects (ListObjects v1 and v2) and every version (ListObjectVersions), in the
 * byte order of the keys' UTF-8, with prefix, delimiter (keys sharing a prefix up to it fold into one common prefix)
 * and pagination, at most 1,000 entries an answer.
 */
final class S3Listings {

    private S3Listings() {
    }

    static int maxKeys(List<Map.Entry<String, String>> query) {
        String mk = param(query, "max-keys");
        if (mk == null) {
            return 1000;
        }
        int n;
        try {
            n = Integer.parseInt(mk);
        } catch (NumberFormatException e) {
            throw S3Exception.invalidArgument("max-keys must be a number");
        }
        if (n < 0) {
            throw S3Exception.invalidArgument("max-keys must not be negative");
        }
        return Math.min(1000, n);
    }

    /** ListObjects (v1) and ListObjectsV2: the current objects, with prefix, delimiter and pagination. */
    static void objects(HttpServletResponse res, ObjectIndex objects, String bucket, List<Map.Entry<String, String>> query,
            boolean v2) throws IOException {
        String prefix = Optional.ofNullable(param(query, "prefix")).orElse("");
        String delimiter = Optional.ofNullable(param(query, "delimiter")).orElse("");
        int maxKeys = maxKeys(query);
        boolean urlEncode = "url".equals(param(query, "encoding-type"));
        String start;
        String token = v2 ? param(query, "continuation-token") : null;
        if (v2) {
            String startAfter = Optional.ofNullable(param(query, "start-after")).orElse("");
            if (token != null) {
                try {
                    start = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw S3Exception.invalidArgument("The continuation token provided is incorrect");
                }
            } else {
                start = startAfter;
            }
        } else {
            start = Optional.ofNullable(param(query, "marker")).orElse("");
        }
        // v1's NextMarker may be a common prefix; v2's continuation token already points past it
        String startKey = v2 ? start : pastCommonPrefix(start, prefix, delimiter);
        Walk w = walk((key, id, n) -> objects.list(bucket, prefix, key, n), prefix, delimiter, maxKeys, startKey, Long.MIN_VALUE);
        List<ObjectRow> contents = w.entries();
        List<String> prefixes = w.prefixes();
        boolean truncated = w.truncated();
        String lastReturned = w.lastKey();
        String after = w.afterKey();
        S3Xml x = new S3Xml().openRoot("ListBucketResult").text("Name", bucket).text("Prefix", enc(prefix, urlEncode));
        if (v2) {
            if (token != null) {
                x.text("ContinuationToken", token);
            }
            if (param(query, "start-after") != null) {
                x.text("StartAfter", enc(param(query, "start-after"), urlEncode));
            }
            x.text("KeyCount", contents.size() + prefixes.size());
            if (truncated && lastReturned != null) {
                x.text("NextContinuationToken", Base64.getUrlEncoder().withoutPadding()
                        .encodeToString(after.getBytes(StandardCharsets.UTF_8)));
            }
        } else {
            x.text("Marker", enc(start, urlEncode));
            if (truncated && lastReturned != null && !delimiter.isEmpty()) {
                x.text("NextMarker", enc(lastReturned, urlEncode));
            }
        }
        x.text("MaxKeys", maxKeys);
        if (!delimiter.isEmpty()) {
            x.text("Delimiter", enc(delimiter, urlEncode));
        }
        if (urlEncode) {
            x.text("EncodingType", "url");
        }
        x.text("IsTruncated", Boolean.toString(truncated));
        for (ObjectRow o : contents) {
            x.open("Contents").text("Key", enc(o.key(), urlEncode)).time("LastModified", o.createdAt())
                    .text("ETag", "\"" + o.etag() + "\"").text("Size", o.sizeBytes()).text("StorageClass", "STANDARD")
                    .close("Contents");
        }
        for (String p : prefixes) {
            x.open("CommonPrefixes").text("Prefix", enc(p, urlEncode)).close("CommonPrefixes");
        }
        xml(res, 200, x.close("ListBucketResult").build());
    }

    /** A page of rows after the position (key, id), in listing order: {@link ObjectIndex#list} or {@link ObjectIndex#versions}. */
    @FunctionalInterface
    interface Pager {
        List<ObjectRow> page(String afterKey, long afterId, int limit);
    }

    /**
     * What a walk gathered: entries and common prefixes in order, whether more follow, the position it stopped at
     * ({@code afterKey}, {@code afterId}) and the last thing it returned ({@code lastVersionId} null when that was a
     * common prefix, or nothing was returned).
     */
    record Walk(List<ObjectRow> entries, List<String> prefixes, boolean truncated, String afterKey, long afterId,
            String lastKey, String lastVersionId) {
    }

    /**
     * Walks rows in order from after (afterKey, afterId), at most {@code maxKeys} entries and common prefixes, folding
     * the keys that share a prefix up to the delimiter into one common prefix and skipping past the rest of it.
     */
    static Walk walk(Pager pager, String prefix, String delimiter, int maxKeys, String afterKey, long afterId) {
        List<ObjectRow> entries = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        boolean truncated = false;
        String lastKey = null;
        String lastVersion = null;
        outer:
        for (int round = 0; round < 10_000 && maxKeys > 0; round++) { // bounded: every round moves the position on
            List<ObjectRow> page = pager.page(afterKey, afterId, 1000);
            if (page.isEmpty()) {
                break;
            }
            for (ObjectRow o : page) {
                if (entries.size() + prefixes.size() >= maxKeys) {
                    truncated = true;
                    break outer;
                }
                afterKey = o.key();
                afterId = o.id();
                if (!delimiter.isEmpty()) {
                    int d = o.key().indexOf(delimiter, prefix.length());
                    if (d >= 0) {
                        String common = o.key().substring(0, d + delimiter.length());
                        if (prefixes.isEmpty() || !prefixes.get(prefixes.size() - 1).equals(common)) {
                            prefixes.add(common);
                        }
                        lastKey = common;
                        lastVersion = null;
                        // skip the rest of this common prefix: every key below it sorts before prefix + max char
                        afterKey = common + Character.toString(Character.MAX_CODE_POINT);
                        afterId = Long.MIN_VALUE;
                        continue outer;
                    }
                }
                entries.add(o);
                lastKey = o.key();
                lastVersion = o.versionId();
            }
            if (page.size() < 1000) {
                break;
            }
        }
        if (!truncated && entries.size() + prefixes.size() >= maxKeys && maxKeys > 0) {
            truncated = !pager.page(afterKey, afterId, 1).isEmpty();
        }
        return new Walk(entries, prefixes, truncated, afterKey, afterId, lastKey, lastVersion);
    }

    /**
     * Where a listing continues after {@code marker}: past every key under it when it is a common prefix (it ends
     * with the delimiter after the listing's prefix), as S3 continues after a page that ended on one; else after it.
     */
    static String pastCommonPrefix(String marker, String prefix, String delimiter) {
        if (!delimiter.isEmpty() && marker.startsWith(prefix) && marker.endsWith(delimiter)
                && marker.indexOf(delimiter, prefix.length()) == marker.length() - delimiter.length()) {
            return marker + Character.toString(Character.MAX_CODE_POINT);
        }
        return marker;
    }

    static String enc(String s, boolean url) {
        return url ? SigV4.uriEncode(s).replace("%2F", "/") : s;
    }

    /**
     * ListObjectVersions: every version and delete marker, keys in order and the newest version of each first;
     * {@code key-marker} / {@code version-id-marker} continue after a version (or after a whole key).
     */
    static void versions(HttpServletResponse res, ObjectIndex objects, String bucket, List<Map.Entry<String, String>> query)
            throws IOException {
        String prefix = Optional.ofNullable(param(query, "prefix")).orElse("");
        String delimiter = Optional.ofNullable(param(query, "delimiter")).orElse("");
        int maxKeys = maxKeys(query);
        boolean urlEncode = "url".equals(param(query, "encoding-type"));
        String keyMarker = Optional.ofNullable(param(query, "key-marker")).orElse("");
        String versionMarker = param(query, "version-id-marker");
        String afterKey = pastCommonPrefix(keyMarker, prefix, delimiter);
        long afterId = Long.MIN_VALUE; // after the whole key
        if (versionMarker != null && !versionMarker.isEmpty()) {
            if (keyMarker.isEmpty()) {
                throw S3Exception.invalidArgument("A version-id marker cannot be specified without a key marker.");
            }
            if (!S3Api.validVersionId(versionMarker)) {
                throw S3Exception.invalidArgument("Invalid version id specified");
            }
            // a marker version deleted since the last page: the key's versions are listed again from its newest
            // (a repeat is better than a skip)
            afterId = objects.version(bucket, keyMarker, versionMarker).map(ObjectRow::id).orElse(Long.MAX_VALUE);
        }
        Walk w = walk((key, id, n) -> objects.versions(bucket, prefix, key, id, n), prefix, delimiter, maxKeys, afterKey, afterId);
        List<ObjectRow> entries = w.entries();
        List<String> prefixes = w.prefixes();
        boolean truncated = w.truncated();
        String nextKey = w.lastKey();
        String nextVersion = w.lastVersionId();
        S3Xml x = new S3Xml().openRoot("ListVersionsResult").text("Name", bucket).text("Prefix", enc(prefix, urlEncode))
                .text("KeyMarker", enc(keyMarker, urlEncode)).text("VersionIdMarker", versionMarker == null ? "" : versionMarker)
                .text("MaxKeys", maxKeys);
        if (!delimiter.isEmpty()) {
            x.text("Delimiter", enc(delimiter, urlEncode));
        }
        if (urlEncode) {
            x.text("EncodingType", "url");
        }
        x.text("IsTruncated", Boolean.toString(truncated));
        if (truncated && nextKey != null) {
            x.text("NextKeyMarker", enc(nextKey, urlEncode));
            if (nextVersion != null) {
                x.text("NextVersionIdMarker", nextVersion);
            }
        }
        for (ObjectRow o : entries) {
            String element = o.deleteMarker() ? "DeleteMarker" : "Version";
            x.open(element).text("Key", enc(o.key(), urlEncode)).text("VersionId", o.versionId())
                    .text("IsLatest", Boolean.toString(o.latest())).time("LastModified", o.createdAt());
            if (!o.deleteMarker()) {
                x.text("ETag", "\"" + o.etag() + "\"").text("Size", o.sizeBytes()).text("StorageClass", "STANDARD");
            }
            x.close(element);
        }
        for (String p : prefixes) {
            x.open("CommonPrefixes").text("Prefix", enc(p, urlEncode)).close("CommonPrefixes");
        }
        xml(res, 200, x.close("ListVersionsResult").build());
    }
}
