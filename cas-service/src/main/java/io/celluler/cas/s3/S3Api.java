package io.celluler.cas.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Ingest;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.Erasure;
import io.celluler.cas.store.LifecycleIndex;
import io.celluler.cas.store.LifecycleRule;
import io.celluler.cas.store.ObjectIndex;
import io.celluler.cas.store.ObjectIndex.Bucket;
import io.celluler.cas.store.ObjectIndex.ObjectRow;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;

/**
 * The S3-compatible API on the service's HTTP port (8106), path-style ({@code /<bucket>/<key>}): buckets and
 * objects over {@link ContentService} and {@link ObjectIndex}, every request authenticated by AWS Signature
 * Version 4 ({@link S3Auth}). Errors are S3's XML error bodies with the codes real clients switch on; a client
 * mistake is never a 500. {@code /actuator/**} passes through to Spring.
 *
 * <p>A servlet filter rather than Spring MVC controllers: S3 needs the raw path (keys keep their bytes, the
 * signature covers the path as sent), its own query parsing (sub-resources such as {@code ?location} have no
 * value), and the body as a stream.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class S3Api extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(S3Api.class);
    private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern IP_LIKE = Pattern.compile("\\d+\\.\\d+\\.\\d+\\.\\d+");
    private static final int MAX_KEY_BYTES = 1024;
    private static final int MAX_META_BYTES = 2048;
    /** S3's multipart limits: parts of 5 MiB at least (but the last), 5 GiB at most, numbered 1 to 10,000. */
    static final long MIN_PART_BYTES = 5L << 20;
    static final long MAX_PART_BYTES = 5L << 30;
    static final int MAX_PARTS = 10_000;
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();
    /** Sub-resources this API does not serve yet: answered 501 NotImplemented, never treated as a plain request. */
    private static final List<String> NOT_BUILT = List.of("acl", "policy", "cors", "tagging", "website", "logging", "notification", "replication",
            "encryption", "object-lock", "retention", "legal-hold", "torrent", "restore", "select", "accelerate",
            "requestPayment", "analytics", "metrics", "inventory", "intelligent-tiering", "ownershipControls",
            "publicAccessBlock", "attributes");

    private final ContentService content;
    private final ObjectIndex objects;
    private final LifecycleIndex lifecycle;
    private final S3Auth auth;
    private final String region;
    private final boolean enabled;
    private final ObjectMapper json = new ObjectMapper();
    private final Clock clock = Clock.systemUTC();

    public S3Api(ContentService content, ObjectIndex objects, LifecycleIndex lifecycle, CasProperties props) {
        this.content = content;
        this.objects = objects;
        this.lifecycle = lifecycle;
        this.region = props.s3().region();
        this.enabled = props.s3().enabled();
        Map<String, S3Auth.Key> keys = new LinkedHashMap<>();
        props.s3().keys().forEach(k -> keys.put(k.accessKeyId(), new S3Auth.Key(k.accessKeyId(), k.secretAccessKey(), k.tenant())));
        this.auth = new S3Auth(id -> Optional.ofNullable(keys.get(id)), region);
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String uri = request.getRequestURI();
        boolean read = request.getMethod().equals("GET") || request.getMethod().equals("HEAD");
        return !enabled || uri.startsWith("/actuator/") || (read && uri.equals("/actuator")) || uri.equals("/error");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse res, FilterChain chain)
            throws ServletException, IOException {
        String requestId = UUID.randomUUID().toString().replace("-", "").substring(0, 16).toUpperCase();
        res.setHeader("x-amz-request-id", requestId);
        res.setHeader("Server", "celluler-cas");
        String rawPath = req.getRequestURI();
        try {
            List<Map.Entry<String, String>> query = parseQuery(req.getQueryString());
            Map<String, List<String>> headers = headers(req);
            S3Auth.Principal who = auth.authenticate(new S3Auth.Request(req.getMethod(), rawPath, query, headers), clock.instant());
            route(req, res, who, rawPath, query);
        } catch (S3Exception e) {
            error(res, e, rawPath, requestId);
        } catch (DataAccessException e) {
            log.error("S3 {} {}: metadata store failed", req.getMethod(), rawPath, e);
            error(res, new S3Exception(503, "ServiceUnavailable", "The metadata store is unavailable; retry the request"), rawPath, requestId);
        } catch (ChunkStore.MissingChunkException e) {
            log.error("S3 {} {}: {}", req.getMethod(), rawPath, e.getMessage());
            error(res, new S3Exception(503, "ServiceUnavailable", "a chunk of this object cannot be served from this cell: "
                    + e.getMessage()), rawPath, requestId);
        }
    }

    private void route(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, String rawPath,
            List<Map.Entry<String, String>> query) throws IOException {
        String path = SigV4.percentDecode(rawPath);
        if (path.equals("/") || path.isEmpty()) {
            if (!req.getMethod().equals("GET")) {
                throw methodNotAllowed(req.getMethod(), "the service");
            }
            listBuckets(res, who);
            return;
        }
        String rest = path.substring(1);
        int slash = rest.indexOf('/');
        String bucketName = slash < 0 ? rest : rest.substring(0, slash);
        String key = slash < 0 || slash == rest.length() - 1 ? null : rest.substring(slash + 1);
        for (Map.Entry<String, String> q : query) {
            if (NOT_BUILT.contains(q.getKey())) {
                throw new S3Exception(501, "NotImplemented", "the ?" + q.getKey() + " sub-resource is not implemented in"
                        + " celluler's cas-service");
            }
        }
        if (key == null) {
            bucketRequest(req, res, who, bucketName, query);
        } else {
            objectRequest(req, res, who, bucketName, key, query);
        }
    }

    // ---- buckets ------------------------------------------------------------------------------------------------

    private void listBuckets(HttpServletResponse res, S3Auth.Principal who) throws IOException {
        S3Xml x = new S3Xml().openRoot("ListAllMyBucketsResult").open("Owner").text("ID", who.key().tenant())
                .text("DisplayName", who.key().tenant()).close("Owner").open("Buckets");
        for (Bucket b : objects.buckets(who.key().tenant())) {
            x.open("Bucket").text("Name", b.name()).time("CreationDate", b.createdAt()).close("Bucket");
        }
        xml(res, 200, x.close("Buckets").close("ListAllMyBucketsResult").build());
    }

    /**
     * Celluler's own header on CreateBucket (and HeadBucket's answer): copies of the bucket's content to keep on
     * distinct cells, this one included. Absent: the cell's default ({@code celluler.cas.replication.default-factor}).
     */
    static final String REPLICATION_FACTOR_HEADER = "x-celluler-replication-factor";

    /**
     * Celluler's own header on CreateBucket (and HeadBucket's answer): how the bucket's objects are cut into chunks,
     * {@code fastcdc} (content-defined: an edit changes only the chunks around it) or {@code fixed} (the seed's
     * fixed-size segments, {@code celluler.cas.chunking.fixed-size}). Absent: the cell's default mode.
     */
    static final String CHUNKING_HEADER = "x-celluler-chunking";

    /**
     * Celluler's own header on CreateBucket (and HeadBucket's answer when set): keep the bucket's content
     * erasure-coded, {@code k+m} (e.g. {@code 4+2}): each chunk cut into k data and m parity shards, each shard index
     * on a distinct other cell; the content outlives this cell's chunks and any m of those cells. Instead of copies:
     * with it the replication factor is 1 unless asked for, and more than 1 is refused.
     */
    static final String ERASURE_HEADER = "x-celluler-erasure";

    private String chunking(String header) {
        if (header == null || header.isBlank()) {
            return content.defaultChunking();
        }
        String mode = header.trim().toLowerCase(java.util.Locale.ROOT);
        if (!mode.equals("fastcdc") && !mode.equals("fixed")) {
            throw S3Exception.invalidArgument(CHUNKING_HEADER + " must be fastcdc or fixed, not '" + header + "'");
        }
        return mode;
    }

    private static Erasure erasure(String header) {
        if (header == null || header.isBlank()) {
            return Erasure.NONE;
        }
        try {
            Erasure e = Erasure.parse(header);
            if (!e.none()) {
                return e;
            }
        } catch (IllegalArgumentException bad) {
            throw S3Exception.invalidArgument(ERASURE_HEADER + " " + bad.getMessage());
        }
        throw S3Exception.invalidArgument(ERASURE_HEADER + " needs at least 2 data and 1 parity shard, not '" + header + "'");
    }

    private int replicationFactor(String header) {
        if (header == null || header.isBlank()) {
            return content.defaultReplicationFactor();
        }
        int max = content.maxReplicationFactor();
        try {
            int n = Integer.parseInt(header.trim());
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException notANumber) {
            // answered below
        }
        throw S3Exception.invalidArgument(REPLICATION_FACTOR_HEADER + " must be a whole number between 1 and " + max
                + ", not '" + header + "'");
    }

    private void bucketRequest(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, String name,
            List<Map.Entry<String, String>> query) throws IOException {
        if (has(query, "versioning") || has(query, "lifecycle")) {
            bucketConfiguration(req, res, ownBucket(who, name), query);
            return;
        }
        switch (req.getMethod()) {
            case "PUT" -> {
                checkBucketName(name);
                Erasure erasure = erasure(req.getHeader(ERASURE_HEADER));
                int factor = erasure.none() || req.getHeader(REPLICATION_FACTOR_HEADER) != null
                        ? replicationFactor(req.getHeader(REPLICATION_FACTOR_HEADER)) : 1;
                if (!erasure.none() && factor > 1) {
                    throw S3Exception.invalidArgument(ERASURE_HEADER + " and " + REPLICATION_FACTOR_HEADER + " " + factor
                            + ": a bucket's content is kept either in copies or erasure-coded, not both");
                }
                String chunking = chunking(req.getHeader(CHUNKING_HEADER));
                drainCreateBucketBody(req);
                if (!objects.createBucket(name, who.key().tenant(), factor, erasure, chunking, clock.instant())) {
                    Bucket existing = objects.bucket(name).orElseThrow(() -> S3Exception.noSuchBucket(name));
                    throw existing.tenant().equals(who.key().tenant())
                            ? new S3Exception(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", name)
                            : new S3Exception(409, "BucketAlreadyExists", "The requested bucket name is not available.", name);
                }
                res.setHeader("Location", "/" + name);
                res.setStatus(200);
            }
            case "HEAD" -> {
                Bucket b = ownBucket(who, name);
                res.setHeader("x-amz-bucket-region", region);
                res.setHeader(REPLICATION_FACTOR_HEADER, String.valueOf(b.replicationFactor()));
                res.setHeader(CHUNKING_HEADER, b.chunking());
                if (!b.erasure().none()) {
                    res.setHeader(ERASURE_HEADER, b.erasure().toString());
                }
                res.setStatus(200);
            }
            case "DELETE" -> {
                ownBucket(who, name);
                if (!objects.deleteBucket(name)) {
                    throw new S3Exception(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", name);
                }
                res.setStatus(204);
            }
            case "POST" -> {
                ownBucket(who, name);
                if (!has(query, "delete")) {
                    throw methodNotAllowed("POST", "a bucket (only ?delete)");
                }
                deleteObjects(req, res, name);
            }
            case "GET" -> {
                ownBucket(who, name);
                if (has(query, "uploads")) {
                    listUploads(res, name);
                } else if (has(query, "versions")) {
                    S3Listings.versions(res, objects, name, query);
                } else if (has(query, "location")) {
                    // S3 answers an empty constraint for us-east-1
                    xml(res, 200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" + S3Xml.NS + "\">"
                            + (region.equals("us-east-1") ? "" : region) + "</LocationConstraint>");
                } else {
                    S3Listings.objects(res, objects, name, query, "2".equals(param(query, "list-type")));
                }
            }
            default -> throw methodNotAllowed(req.getMethod(), "a bucket");
        }
    }

    /** {@code ?versioning} and {@code ?lifecycle} of a bucket: read, set, and (lifecycle) removed. */
    private void bucketConfiguration(HttpServletRequest req, HttpServletResponse res, Bucket b,
            List<Map.Entry<String, String>> query) throws IOException {
        boolean versioning = has(query, "versioning");
        switch (req.getMethod()) {
            case "GET" -> {
                if (versioning) {
                    S3Xml x = new S3Xml().openRoot("VersioningConfiguration");
                    if (!b.versioning().equals(ObjectIndex.OFF)) {
                        x.text("Status", b.versioning());
                    }
                    xml(res, 200, x.close("VersioningConfiguration").build());
                    return;
                }
                List<LifecycleRule> rules = lifecycle.rules(b.name());
                if (rules.isEmpty()) {
                    throw new S3Exception(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", b.name());
                }
                xml(res, 200, LifecycleXml.write(rules));
            }
            case "PUT" -> {
                byte[] body = req.getInputStream().readNBytes(1 << 20);
                if (body.length >= 1 << 20) {
                    throw new S3Exception(400, "MalformedXML", "The configuration is larger than 1 MiB");
                }
                checkContentMd5(req, md5().digest(body));
                if (versioning) {
                    objects.setVersioning(b.name(), versioningStatus(body));
                } else {
                    lifecycle.setRules(b.name(), LifecycleXml.parse(body));
                }
                res.setStatus(200);
            }
            case "DELETE" -> {
                if (versioning) {
                    throw methodNotAllowed("DELETE", "a bucket's versioning (suspend it instead)");
                }
                lifecycle.setRules(b.name(), List.of());
                res.setStatus(204);
            }
            default -> throw methodNotAllowed(req.getMethod(), "a bucket configuration");
        }
    }

    private static String versioningStatus(byte[] body) {
        org.w3c.dom.Element root = S3XmlBody.root(body, "VersioningConfiguration");
        String status = null;
        for (org.w3c.dom.Element e : S3XmlBody.children(root)) {
            switch (e.getLocalName()) {
                case "Status" -> status = e.getTextContent().trim();
                case "MfaDelete", "MFADelete" -> {
                    if (e.getTextContent().trim().equals("Enabled")) {
                        throw new S3Exception(501, "NotImplemented", "MFA delete is not implemented");
                    }
                }
                default -> throw S3XmlBody.malformed("Unexpected element " + e.getLocalName() + " in VersioningConfiguration");
            }
        }
        if (!ObjectIndex.ENABLED.equals(status) && !ObjectIndex.SUSPENDED.equals(status)) {
            throw S3XmlBody.malformed("Status must be Enabled or Suspended");
        }
        return status;
    }

    /** DeleteObjects: up to 1,000 keys in one request; each is deleted on its own (S3 reports per key). */
    private void deleteObjects(HttpServletRequest req, HttpServletResponse res, String bucket) throws IOException {
        byte[] body = req.getInputStream().readNBytes(2 << 20);
        if (body.length >= 2 << 20) {
            throw new S3Exception(400, "MalformedXML", "The Delete request is larger than 2 MiB");
        }
        checkContentMd5(req, md5().digest(body));
        DeleteRequest d = DeleteRequest.parse(body);
        S3Xml x = new S3Xml().openRoot("DeleteResult");
        for (DeleteRequest.Entry entry : d.objects()) {
            String key = entry.key();
            if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
                x.open("Error").text("Key", key).text("Code", "KeyTooLongError").text("Message", "Your key is too long")
                        .close("Error");
                continue;
            }
            if (entry.versionId() != null && !validVersionId(entry.versionId())) {
                x.open("Error").text("Key", key).text("VersionId", entry.versionId()).text("Code", "InvalidArgument")
                        .text("Message", "Invalid version id specified").close("Error");
                continue;
            }
            if (entry.versionId() != null) {
                Optional<ObjectRow> gone = objects.deleteVersion(bucket, key, entry.versionId(), clock.instant());
                if (!d.quiet()) {
                    x.open("Deleted").text("Key", key).text("VersionId", entry.versionId());
                    if (gone.isPresent() && gone.get().deleteMarker()) {
                        x.text("DeleteMarker", "true").text("DeleteMarkerVersionId", entry.versionId());
                    }
                    x.close("Deleted");
                }
                continue;
            }
            ObjectIndex.Deleted deleted = objects.delete(bucket, key, clock.instant());
            if (!d.quiet()) {
                x.open("Deleted").text("Key", key);
                if (deleted.deleteMarker()) {
                    x.text("DeleteMarker", "true").text("DeleteMarkerVersionId", deleted.versionId());
                }
                x.close("Deleted");
            }
        }
        xml(res, 200, x.close("DeleteResult").build());
    }

    private void drainCreateBucketBody(HttpServletRequest req) throws IOException {
        // a CreateBucketConfiguration may name a location: any is accepted (a cell has one region)
        byte[] body = req.getInputStream().readNBytes(64 * 1024);
        if (body.length == 64 * 1024) {
            throw new S3Exception(400, "MalformedXML", "The CreateBucketConfiguration is too large");
        }
    }

    private Bucket ownBucket(S3Auth.Principal who, String name) {
        Bucket b = objects.bucket(name).orElseThrow(() -> S3Exception.noSuchBucket(name));
        if (!b.tenant().equals(who.key().tenant())) {
            throw new S3Exception(403, "AccessDenied", "Access Denied", name);
        }
        return b;
    }

    private static void checkBucketName(String name) {
        if (!BUCKET_NAME.matcher(name).matches() || name.contains("..") || name.contains(".-") || name.contains("-.")
                || IP_LIKE.matcher(name).matches() || name.equals("actuator")) {
            throw new S3Exception(400, "InvalidBucketName", "The specified bucket is not valid: 3-63 characters of lowercase"
                    + " letters, digits, '.' and '-', starting and ending with a letter or digit, not an IP address"
                    + " ('actuator' is reserved)", name);
        }
    }

    // ---- objects ------------------------------------------------------------------------------------------------

    private void objectRequest(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, String bucket,
            String key, List<Map.Entry<String, String>> query) throws IOException {
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new S3Exception(400, "KeyTooLongError", "Your key is too long (at most " + MAX_KEY_BYTES + " bytes)", key);
        }
        Bucket b = ownBucket(who, bucket);
        String versionId = param(query, "versionId");
        if (versionId != null && !validVersionId(versionId)) {
            throw S3Exception.invalidArgument("Invalid version id specified");
        }
        String uploadId = param(query, "uploadId");
        if (uploadId != null || has(query, "uploads")) {
            multipart(req, res, who, bucket, key, uploadId, query);
            return;
        }
        if (has(query, "partNumber")) {
            throw new S3Exception(501, "NotImplemented", "GetObject of one part (?partNumber) is not implemented yet");
        }
        switch (req.getMethod()) {
            case "PUT" -> {
                if (req.getHeader("x-amz-copy-source") != null) {
                    copyObject(req, res, who, bucket, key);
                    return;
                }
                putObject(req, res, who, b, key);
            }
            case "GET", "HEAD" -> getObject(req, res, b, key, versionId, req.getMethod().equals("HEAD"));
            case "DELETE" -> {
                if (versionId != null) {
                    objects.deleteVersion(bucket, key, versionId, clock.instant()).ifPresent(gone -> {
                        if (gone.deleteMarker()) {
                            res.setHeader("x-amz-delete-marker", "true");
                        }
                    });
                    res.setHeader(VERSION_ID, versionId);
                } else {
                    ObjectIndex.Deleted deleted = objects.delete(bucket, key, clock.instant());
                    if (deleted.deleteMarker()) {
                        res.setHeader("x-amz-delete-marker", "true");
                        res.setHeader(VERSION_ID, deleted.versionId());
                    }
                }
                res.setStatus(204);
            }
            default -> throw methodNotAllowed(req.getMethod(), "an object");
        }
    }

    private void putObject(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, Bucket b, String key)
            throws IOException {
        String bucket = b.name();
        Map<String, String> meta = userMetadata(req);
        String contentType = Optional.ofNullable(req.getContentType()).orElse("binary/octet-stream");
        Ingest upload = receive(req, who, key, b.chunking(), content.maxObjectSizeBytes());
        try {
            Ingest.Result stored = upload.finish();
            checkDigests(req, who, stored);
            ObjectRow row = objects.put(bucket, key, stored.manifest(), stored.md5Hex(), contentType,
                    meta.isEmpty() ? null : json.writeValueAsString(meta), clock.instant());
            res.setHeader("ETag", "\"" + row.etag() + "\"");
            versionHeader(res, b, row);
            res.setStatus(200);
        } finally {
            upload.close();
        }
    }

    /**
     * CopyObject: the new object names the source's content (one more reference on its manifest; no byte is
     * copied). Metadata and content type are the source's ({@code x-amz-metadata-directive: COPY}, the default) or
     * the request's ({@code REPLACE}); copying an object onto itself needs REPLACE, as in S3.
     */
    private void copyObject(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, String bucket, String key)
            throws IOException {
        String source = req.getHeader("x-amz-copy-source");
        String sourceVersion = null;
        int q = source.indexOf('?');
        if (q >= 0) {
            String param = source.substring(q + 1);
            if (!param.startsWith("versionId=") || !validVersionId(param.substring("versionId=".length()))) {
                throw S3Exception.invalidArgument("x-amz-copy-source: only ?versionId=<a version id> may follow the key");
            }
            sourceVersion = param.substring("versionId=".length());
            source = source.substring(0, q);
        }
        source = SigV4.percentDecode(source);
        if (source.startsWith("/")) {
            source = source.substring(1);
        }
        int slash = source.indexOf('/');
        if (slash <= 0 || slash == source.length() - 1) {
            throw S3Exception.invalidArgument("x-amz-copy-source must be <bucket>/<key>");
        }
        String fromBucket = source.substring(0, slash);
        String fromKey = source.substring(slash + 1);
        ownBucket(who, fromBucket);
        ObjectRow from;
        if (sourceVersion == null) {
            from = objects.object(fromBucket, fromKey).orElseThrow(() -> S3Exception.noSuchKey(fromKey));
        } else {
            from = objects.version(fromBucket, fromKey, sourceVersion).orElseThrow(() -> noSuchVersion(fromKey));
            if (from.deleteMarker()) {
                throw S3Exception.invalidArgument("The source of a copy request may not specifically refer to a delete marker by"
                        + " version id.");
            }
            res.setHeader("x-amz-copy-source-version-id", sourceVersion);
        }
        String directive = Optional.ofNullable(req.getHeader("x-amz-metadata-directive")).orElse("COPY");
        if (!directive.equals("COPY") && !directive.equals("REPLACE")) {
            throw S3Exception.invalidArgument("x-amz-metadata-directive must be COPY or REPLACE");
        }
        if (fromBucket.equals(bucket) && fromKey.equals(key) && directive.equals("COPY") && sourceVersion == null) {
            throw new S3Exception(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to"
                    + " itself without changing the object's metadata, storage class, website redirect location or encryption"
                    + " attributes.");
        }
        String contentType = from.contentType();
        String meta = from.userMetadataJson();
        if (directive.equals("REPLACE")) {
            Map<String, String> m = userMetadata(req);
            meta = m.isEmpty() ? null : json.writeValueAsString(m);
            contentType = Optional.ofNullable(req.getContentType()).orElse("binary/octet-stream");
        }
        Manifest m = content.manifest(from.manifestRoot()).orElseThrow(() ->
                new S3Exception(503, "ServiceUnavailable", "the source object's manifest is missing on this cell")).manifest();
        ObjectRow row = objects.put(bucket, key, m, from.etag(), contentType, meta, clock.instant());
        versionHeader(res, objects.bucket(bucket).orElseThrow(() -> S3Exception.noSuchBucket(bucket)), row);
        xml(res, 200, new S3Xml().openRoot("CopyObjectResult").time("LastModified", row.createdAt())
                .text("ETag", "\"" + row.etag() + "\"").close("CopyObjectResult").build());
    }

    /**
     * Reads a request body into the chunk store: decoded ({@code aws-chunked}, every chunk signature checked) when
     * it is, at most {@code maxBytes}, exactly as long as declared. The caller finishes and closes the upload.
     */
    private Ingest receive(HttpServletRequest req, S3Auth.Principal who, String key, String chunking, long maxBytes)
            throws IOException {
        String payloadHash = who.payloadHash();
        boolean awsChunked = AwsChunkedDecoder.handles(payloadHash);
        if (!awsChunked && !payloadHash.equals(SigV4.UNSIGNED_PAYLOAD) && !HEX_SHA256.matcher(payloadHash).matches()) {
            throw S3Exception.invalidArgument("x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* mode");
        }
        // the content's length: Content-Length, or for an aws-chunked body the decoded length it declares (-1: unknown)
        long declared = awsChunked ? -1 : req.getContentLengthLong();
        String decodedLength = req.getHeader("x-amz-decoded-content-length");
        if (awsChunked && decodedLength != null) {
            try {
                declared = Long.parseLong(decodedLength);
            } catch (NumberFormatException e) {
                throw S3Exception.invalidArgument("x-amz-decoded-content-length must be a number");
            }
        }
        if (declared > maxBytes) {
            throw new S3Exception(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size (" + maxBytes
                    + " bytes)", key);
        }
        // only now is the body asked for: the server invites it (100 Continue) once it is, and a refusal from the
        // headers above reaches the client before it sends the body
        InputStream body = req.getInputStream();
        if (awsChunked) {
            body = new AwsChunkedDecoder(body, who, req.getHeader("x-amz-trailer"));
        }
        Ingest upload = content.begin(chunking, true);
        try {
            byte[] buf = new byte[1 << 20];
            long total = 0;
            for (int n; (n = body.readNBytes(buf, 0, buf.length)) > 0; ) {
                total += n;
                if (total > maxBytes) {
                    throw new S3Exception(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size ("
                            + maxBytes + " bytes)", key);
                }
                try {
                    upload.write(buf, 0, n);
                } catch (Ingest.TooLargeException e) {
                    throw new S3Exception(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size ("
                            + e.maxSizeBytes() + " bytes)", key);
                }
            }
            if (declared >= 0 && total != declared) {
                throw new S3Exception(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header");
            }
            return upload;
        } catch (IOException | RuntimeException e) {
            upload.close();
            throw e;
        }
    }

    /** A signed payload's SHA-256 and a Content-MD5, checked against what was stored. */
    private static void checkDigests(HttpServletRequest req, S3Auth.Principal who, Ingest.Result stored) {
        String payloadHash = who.payloadHash();
        if (HEX_SHA256.matcher(payloadHash).matches() && !payloadHash.equals(stored.manifest().contentSha256())) {
            throw new S3Exception(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        checkContentMd5(req, HEX.parseHex(stored.md5Hex()));
    }

    /** A request's Content-MD5 (if it sent one) against the MD5 of what was received. */
    private static void checkContentMd5(HttpServletRequest req, byte[] receivedMd5) {
        String contentMd5 = req.getHeader("Content-MD5");
        if (contentMd5 == null) {
            return;
        }
        byte[] given;
        try {
            given = Base64.getDecoder().decode(contentMd5);
        } catch (IllegalArgumentException e) {
            throw new S3Exception(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
        }
        if (!MessageDigest.isEqual(given, receivedMd5)) {
            throw new S3Exception(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
        }
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    // ---- multipart uploads --------------------------------------------------------------------------------------

    private void multipart(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, String bucket, String key,
            String uploadId, List<Map.Entry<String, String>> query) throws IOException {
        if (uploadId == null) {
            if (!req.getMethod().equals("POST")) {
                throw methodNotAllowed(req.getMethod(), "?uploads (POST starts an upload)");
            }
            Map<String, String> meta = userMetadata(req);
            ObjectIndex.Upload u = objects.createUpload(bucket, key, Optional.ofNullable(req.getContentType())
                    .orElse("binary/octet-stream"), meta.isEmpty() ? null : json.writeValueAsString(meta), clock.instant());
            xml(res, 200, new S3Xml().openRoot("InitiateMultipartUploadResult").text("Bucket", bucket).text("Key", key)
                    .text("UploadId", u.uploadId()).close("InitiateMultipartUploadResult").build());
            return;
        }
        ObjectIndex.Upload u = objects.upload(uploadId).filter(x -> x.bucket().equals(bucket) && x.key().equals(key))
                .orElseThrow(() -> new S3Exception(404, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID"
                        + " may be invalid, or the upload may have been aborted or completed.", uploadId));
        switch (req.getMethod()) {
            case "PUT" -> uploadPart(req, res, who, u, key, query);
            case "POST" -> completeUpload(req, res, u);
            case "DELETE" -> {
                objects.abort(uploadId, clock.instant());
                res.setStatus(204);
            }
            case "GET" -> {
                S3Xml x = new S3Xml().openRoot("ListPartsResult").text("Bucket", bucket).text("Key", key).text("UploadId", uploadId)
                        .text("StorageClass", "STANDARD").text("IsTruncated", "false");
                for (ObjectIndex.Part p : objects.parts(uploadId)) {
                    x.open("Part").text("PartNumber", p.partNumber()).time("LastModified", p.createdAt())
                            .text("ETag", "\"" + p.etag() + "\"").text("Size", p.sizeBytes()).close("Part");
                }
                xml(res, 200, x.close("ListPartsResult").build());
            }
            default -> throw methodNotAllowed(req.getMethod(), "a multipart upload");
        }
    }

    private void uploadPart(HttpServletRequest req, HttpServletResponse res, S3Auth.Principal who, ObjectIndex.Upload u,
            String key, List<Map.Entry<String, String>> query) throws IOException {
        if (req.getHeader("x-amz-copy-source") != null) {
            throw new S3Exception(501, "NotImplemented", "UploadPartCopy is not implemented yet in celluler's cas-service");
        }
        int partNumber;
        try {
            partNumber = Integer.parseInt(Optional.ofNullable(param(query, "partNumber")).orElse(""));
        } catch (NumberFormatException e) {
            throw S3Exception.invalidArgument("Part number must be an integer between 1 and " + MAX_PARTS + ", inclusive");
        }
        if (partNumber < 1 || partNumber > MAX_PARTS) {
            throw S3Exception.invalidArgument("Part number must be an integer between 1 and " + MAX_PARTS + ", inclusive");
        }
        String chunking = objects.bucket(u.bucket()).map(Bucket::chunking).orElseGet(content::defaultChunking);
        Ingest upload = receive(req, who, key, chunking, Math.min(MAX_PART_BYTES, content.maxObjectSizeBytes()));
        try {
            Ingest.Result stored = upload.finish();
            checkDigests(req, who, stored);
            if (!objects.putPart(u.uploadId(), partNumber, stored.manifest(), stored.md5Hex(), clock.instant())) {
                throw new S3Exception(404, "NoSuchUpload", "The specified multipart upload does not exist.", u.uploadId());
            }
            res.setHeader("ETag", "\"" + stored.md5Hex() + "\"");
            res.setStatus(200);
        } finally {
            upload.close();
        }
    }

    private void completeUpload(HttpServletRequest req, HttpServletResponse res, ObjectIndex.Upload u) throws IOException {
        byte[] body = req.getInputStream().readNBytes(4 << 20);
        CompleteRequest listed = CompleteRequest.parse(body);
        Optional<ObjectRow> row = objects.complete(u.uploadId(), stored -> assemble(listed, stored), clock.instant());
        ObjectRow o = row.orElseThrow(() -> new S3Exception(404, "NoSuchUpload", "The specified multipart upload does not exist.",
                u.uploadId()));
        objects.bucket(u.bucket()).ifPresent(b -> versionHeader(res, b, o));
        xml(res, 200, new S3Xml().openRoot("CompleteMultipartUploadResult").text("Location", "/" + u.bucket() + "/" + u.key())
                .text("Bucket", u.bucket()).text("Key", u.key()).text("ETag", "\"" + o.etag() + "\"")
                .close("CompleteMultipartUploadResult").build());
    }

    /**
     * The object of a completed upload: the listed parts, which must be stored with those ETags, in ascending order,
     * each but the last at least 5 MiB; their chunk lists in order are the object's manifest, and the ETag is S3's
     * (the MD5 of the parts' MD5s, then "-" and the number of parts). A whole-content SHA-256 is not known without
     * reading every byte again, and is left empty.
     */
    private ObjectIndex.Completed assemble(CompleteRequest listed, List<ObjectIndex.Part> stored) {
        if (listed.parts().size() > MAX_PARTS) {
            throw S3Exception.invalidArgument("At most " + MAX_PARTS + " parts");
        }
        Map<Integer, ObjectIndex.Part> byNumber = new TreeMap<>();
        stored.forEach(p -> byNumber.put(p.partNumber(), p));
        List<Manifest.ChunkRef> chunks = new ArrayList<>();
        MessageDigest md5s = md5();
        int previous = 0;
        for (CompleteRequest.Listed l : listed.parts()) {
            if (l.partNumber() <= previous) {
                throw new S3Exception(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be"
                        + " ordered by part number.");
            }
            previous = l.partNumber();
        }
        for (int i = 0; i < listed.parts().size(); i++) {
            CompleteRequest.Listed l = listed.parts().get(i);
            ObjectIndex.Part p = byNumber.get(l.partNumber());
            if (p == null || !p.etag().equals(l.etag())) {
                throw new S3Exception(400, "InvalidPart", "One or more of the specified parts could not be found. The part may"
                        + " not have been uploaded, or the specified entity tag may not match the part's entity tag.");
            }
            if (i < listed.parts().size() - 1 && p.sizeBytes() < MIN_PART_BYTES) {
                throw new S3Exception(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size:"
                        + " each part but the last must be at least " + MIN_PART_BYTES + " bytes (part " + p.partNumber() + ")");
            }
            Manifest m = content.manifest(p.manifestRoot()).orElseThrow(() ->
                    new IllegalStateException("part " + p.partNumber() + "'s manifest " + p.manifestRoot() + " is missing")).manifest();
            chunks.addAll(m.chunks());
            md5s.update(HEX.parseHex(p.etag()));
        }
        Manifest whole = Manifest.of("", chunks);
        if (whole.sizeBytes() > content.maxObjectSizeBytes()) {
            throw new S3Exception(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size ("
                    + content.maxObjectSizeBytes() + " bytes, celluler.cas.max-object-size)");
        }
        String etag = HEX.formatHex(md5s.digest()) + "-" + listed.parts().size();
        return new ObjectIndex.Completed(whole, etag);
    }

    private void listUploads(HttpServletResponse res, String bucket) throws IOException {
        S3Xml x = new S3Xml().openRoot("ListMultipartUploadsResult").text("Bucket", bucket).text("IsTruncated", "false");
        for (ObjectIndex.Upload u : objects.uploads(bucket, 1000)) {
            x.open("Upload").text("Key", u.key()).text("UploadId", u.uploadId()).text("StorageClass", "STANDARD")
                    .time("Initiated", u.createdAt()).close("Upload");
        }
        xml(res, 200, x.close("ListMultipartUploadsResult").build());
    }

    private void getObject(HttpServletRequest req, HttpServletResponse res, Bucket b, String key, String versionId, boolean head)
            throws IOException {
        ObjectRow o;
        if (versionId == null) {
            o = objects.latest(b.name(), key).orElseThrow(() -> S3Exception.noSuchKey(key));
            if (o.deleteMarker()) {
                throw S3Exception.noSuchKey(key).withHeader("x-amz-delete-marker", "true").withHeader(VERSION_ID, o.versionId());
            }
        } else {
            o = objects.version(b.name(), key, versionId).orElseThrow(() -> noSuchVersion(key));
            if (o.deleteMarker()) {
                throw methodNotAllowed(req.getMethod(), "a delete marker").withHeader("x-amz-delete-marker", "true")
                        .withHeader(VERSION_ID, o.versionId());
            }
        }
        versionHeader(res, b, o);
        String etag = "\"" + o.etag() + "\"";
        String ifNoneMatch = req.getHeader("If-None-Match");
        String ifMatch = req.getHeader("If-Match");
        if (ifMatch != null && !ifMatch.equals("*") && !ifMatch.equals(etag)) {
            throw new S3Exception(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        }
        res.setHeader("ETag", etag);
        res.setHeader("Last-Modified", HTTP_DATE.format(o.createdAt()));
        res.setHeader("Accept-Ranges", "bytes");
        if (ifNoneMatch != null && (ifNoneMatch.equals("*") || ifNoneMatch.equals(etag))) {
            res.setStatus(304);
            return;
        }
        res.setContentType(o.contentType());
        if (o.userMetadataJson() != null) {
            Map<String, String> meta = json.readValue(o.userMetadataJson(), new TypeReference<TreeMap<String, String>>() {
            });
            meta.forEach((k, v) -> res.setHeader("x-amz-meta-" + k, v));
        }
        long size = o.sizeBytes();
        long from = 0;
        long length = size;
        String range = req.getHeader("Range");
        if (range != null && !head) {
            long[] r = parseRange(range, size);
            if (r != null) {
                from = r[0];
                length = r[1] - r[0] + 1;
                res.setStatus(206);
                res.setHeader("Content-Range", "bytes " + r[0] + "-" + r[1] + "/" + size);
            }
        } else {
            res.setStatus(200);
        }
        res.setContentLengthLong(length);
        if (head || length == 0) {
            return;
        }
        Manifest m = content.manifest(o.manifestRoot()).orElseThrow(() ->
                new S3Exception(503, "ServiceUnavailable", "the object's manifest is missing on this cell")).manifest();
        OutputStream out = res.getOutputStream();
        content.read(m, from, length, (buf, off, len) -> {
            out.write(buf, off, len);
            return true;
        });
    }

    /** {first, last} of a satisfiable single range; null to ignore the header (as S3 does with a malformed one). */
    static long[] parseRange(String header, long size) {
        if (!header.startsWith("bytes=") || header.contains(",")) {
            return null;
        }
        String spec = header.substring(6).trim();
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            String a = spec.substring(0, dash).trim();
            String b = spec.substring(dash + 1).trim();
            long first;
            long last;
            if (a.isEmpty()) {
                long suffix = Long.parseLong(b);
                if (suffix == 0) {
                    throw invalidRange(size);
                }
                first = Math.max(0, size - suffix);
                last = size - 1;
            } else {
                first = Long.parseLong(a);
                last = b.isEmpty() ? size - 1 : Math.min(Long.parseLong(b), size - 1);
                if (!b.isEmpty() && Long.parseLong(b) < first) {
                    return null;
                }
            }
            if (first >= size) {
                throw invalidRange(size);
            }
            return new long[] {first, last};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static S3Exception invalidRange(long size) {
        return new S3Exception(416, "InvalidRange", "The requested range is not satisfiable (the object has " + size + " bytes)");
    }

    private static Map<String, String> userMetadata(HttpServletRequest req) {
        Map<String, String> meta = new TreeMap<>();
        int bytes = 0;
        for (String name : Collections.list(req.getHeaderNames())) {
            String lower = name.toLowerCase();
            if (lower.startsWith("x-amz-meta-")) {
                String k = lower.substring("x-amz-meta-".length());
                String v = req.getHeader(name);
                meta.put(k, v);
                bytes += k.length() + v.length();
            }
        }
        if (bytes > MAX_META_BYTES) {
            throw new S3Exception(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size ("
                    + MAX_META_BYTES + " bytes)");
        }
        return meta;
    }

    // ---- plumbing -----------------------------------------------------------------------------------------------

    static final String VERSION_ID = "x-amz-version-id";
    private static final Pattern VERSION_ID_FORMAT = Pattern.compile("null|[0-9a-f]{32}");

    /** A version id this API could have given: {@value ObjectIndex#NULL_VERSION} or 32 hex digits. */
    static boolean validVersionId(String id) {
        return VERSION_ID_FORMAT.matcher(id).matches();
    }

    /** S3 names the version written or read in versioned buckets (also "null" once versioning was ever set). */
    private static void versionHeader(HttpServletResponse res, Bucket b, ObjectRow o) {
        if (!b.versioning().equals(ObjectIndex.OFF)) {
            res.setHeader(VERSION_ID, o.versionId());
        }
    }

    private static S3Exception noSuchVersion(String key) {
        return new S3Exception(404, "NoSuchVersion", "The specified version does not exist.", key);
    }

    private static S3Exception methodNotAllowed(String method, String what) {
        return new S3Exception(405, "MethodNotAllowed", "The specified method (" + method + ") is not allowed against " + what);
    }

    static boolean has(List<Map.Entry<String, String>> query, String name) {
        return query.stream().anyMatch(e -> e.getKey().equals(name));
    }

    static String param(List<Map.Entry<String, String>> query, String name) {
        return query.stream().filter(e -> e.getKey().equals(name)).map(Map.Entry::getValue).findFirst().orElse(null);
    }

    /** The query string's parameters, decoded ('+' is a space here, as form encoding has it). */
    static List<Map.Entry<String, String>> parseQuery(String raw) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            out.add(Map.entry(SigV4.percentDecode(k.replace("+", " ")), SigV4.percentDecode(v.replace("+", " "))));
        }
        return out;
    }

    private static Map<String, List<String>> headers(HttpServletRequest req) {
        Map<String, List<String>> out = new TreeMap<>();
        for (String name : Collections.list(req.getHeaderNames())) {
            out.put(name.toLowerCase(), Collections.list(req.getHeaders(name)));
        }
        return out;
    }

    static void xml(HttpServletResponse res, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        res.setStatus(status);
        res.setContentType("application/xml");
        res.setContentLength(bytes.length);
        res.getOutputStream().write(bytes);
    }

    private static void error(HttpServletResponse res, S3Exception e, String resource, String requestId) throws IOException {
        if (res.isCommitted()) {
            return; // bytes went out already (a read that failed midway): the client sees a short body
        }
        res.reset();
        res.setHeader("x-amz-request-id", requestId);
        e.headers().forEach(res::setHeader);
        S3Xml x = new S3Xml().open("Error").text("Code", e.code()).text("Message", e.getMessage());
        if (e.code().equals("NoSuchBucket") || e.code().startsWith("Bucket") || e.code().equals("InvalidBucketName")) {
            x.text("BucketName", e.resource() == null ? "" : e.resource());
        } else if (e.code().equals("NoSuchKey") && e.resource() != null) {
            x.text("Key", e.resource());
        } else if (e.code().equals("NoSuchUpload") && e.resource() != null) {
            x.text("UploadId", e.resource());
        }
        x.text("Resource", resource).text("RequestId", requestId);
        byte[] bytes = x.close("Error").build().getBytes(StandardCharsets.UTF_8);
        res.setStatus(e.status());
        if (e.status() == 304) {
            return;
        }
        res.setContentType("application/xml");
        res.setContentLength(bytes.length);
        res.getOutputStream().write(bytes);
    }
}
