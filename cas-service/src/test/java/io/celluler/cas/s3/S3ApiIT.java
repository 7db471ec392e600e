package io.celluler.cas.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.celluler.cas.CasServiceApplication;
import io.celluler.core.boot.CellulerApplication;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.DeleteObjectResponse;
import software.amazon.awssdk.services.s3.model.ExpirationStatus;
import software.amazon.awssdk.services.s3.model.LifecycleRule;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.TransitionStorageClass;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import io.celluler.cas.replication.Replicator;
import io.celluler.cas.lifecycle.LifecycleWorker;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.Erasure;
import io.celluler.cas.store.ObjectIndex;

/**
 * The S3-compatible API with the AWS SDK for Java v2 as the client (path-style, SigV4, the SDK's own defaults for
 * payload signing and checksums), against cas-service on its embedded default over loopback.
 */
class S3ApiIT {

    static final String KEY = "celluler";
    static final String SECRET = "celluler-dev-secret";

    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext context;
    private URI endpoint;
    private S3Client s3;

    /** Extra arguments for the context; overridden by the PostgreSQL variant. */
    protected List<String> extraArgs() {
        return List.of();
    }

    @BeforeEach
    void start() {
        List<String> args = new ArrayList<>(List.of("--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1", "--celluler.cas.max-object-size=64MB",
                        // a list set here replaces the configured one as a whole: the default key again, and a second tenant's
                        "--celluler.cas.s3.keys[0].access-key-id=" + KEY, "--celluler.cas.s3.keys[0].secret-access-key=" + SECRET,
                        "--celluler.cas.s3.keys[0].tenant=default",
                        "--celluler.cas.s3.keys[1].access-key-id=other", "--celluler.cas.s3.keys[1].secret-access-key=other-secret",
                        "--celluler.cas.s3.keys[1].tenant=other-tenant"));
        args.addAll(extraArgs());
        context = CellulerApplication.builder(CasServiceApplication.class, CasServiceApplication.NAME).run(args.toArray(String[]::new));
        endpoint = URI.create("http://127.0.0.1:" + context.getEnvironment().getProperty("local.server.port"));
        s3 = client(KEY, SECRET);
    }

    @AfterEach
    void stop() {
        if (s3 != null) {
            s3.close();
            s3 = null;
        }
        if (context != null) {
            context.close();
            context = null;
        }
    }

    private S3Client client(String key, String secret) {
        return S3Client.builder().endpointOverride(endpoint).region(Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
                .build(); // the SDK's default HTTP client (Apache), as most users have it
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String md5(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    @Test
    void bucketsAreCreatedListedLocatedAndDeletedWhenEmpty() {
        s3.createBucket(b -> b.bucket("photos"));
        s3.createBucket(b -> b.bucket("logs.2026"));

        assertThat(s3.listBuckets().buckets()).extracting(b -> b.name()).containsExactly("logs.2026", "photos");
        s3.headBucket(b -> b.bucket("photos"));
        assertThat(s3.getBucketLocation(b -> b.bucket("photos")).locationConstraintAsString()).isEmpty();

        s3.putObject(b -> b.bucket("photos").key("a.jpg"), RequestBody.fromBytes(new byte[] {1, 2, 3}));
        assertS3Error(() -> s3.deleteBucket(b -> b.bucket("photos")), 409, "BucketNotEmpty");
        s3.deleteObject(b -> b.bucket("photos").key("a.jpg"));
        s3.deleteBucket(b -> b.bucket("photos"));
        assertThat(s3.listBuckets().buckets()).extracting(b -> b.name()).containsExactly("logs.2026");
        assertS3Error(() -> s3.headBucket(b -> b.bucket("photos")), 404, null);
        assertS3Error(() -> s3.createBucket(b -> b.bucket("logs.2026")), 409, "BucketAlreadyOwnedByYou");
    }

    @Test
    void aBucketAsksForCopiesOnOtherCellsWithCellulersHeader() {
        s3.createBucket(b -> b.bucket("triple").overrideConfiguration(o -> o.putHeader("x-celluler-replication-factor", "3")));
        s3.createBucket(b -> b.bucket("single"));

        assertThat(s3.headBucket(b -> b.bucket("triple")).sdkHttpResponse().firstMatchingHeader("x-celluler-replication-factor"))
                .hasValue("3");
        assertThat(s3.headBucket(b -> b.bucket("single")).sdkHttpResponse().firstMatchingHeader("x-celluler-replication-factor"))
                .as("the cell's default").hasValue("1");
        for (String bad : new String[] {"0", "8", "three"}) {
            assertS3Error(() -> s3.createBucket(b -> b.bucket("bad-factor").overrideConfiguration(
                    o -> o.putHeader("x-celluler-replication-factor", bad))), 400, "InvalidArgument");
        }
        assertS3Error(() -> s3.headBucket(b -> b.bucket("bad-factor")), 404, null);
        // chunking per bucket: the seed's fixed-size segments in one, content-defined chunks in the other
        s3.createBucket(b -> b.bucket("segments").overrideConfiguration(o -> o.putHeader("x-celluler-chunking", "fixed")));
        assertThat(s3.headBucket(b -> b.bucket("segments")).sdkHttpResponse().firstMatchingHeader("x-celluler-chunking"))
                .hasValue("fixed");
        assertThat(s3.headBucket(b -> b.bucket("single")).sdkHttpResponse().firstMatchingHeader("x-celluler-chunking"))
                .as("the cell's default").hasValue("fastcdc");
        byte[] mib = random(1 << 20, 9);
        s3.putObject(b -> b.bucket("segments").key("m"), RequestBody.fromBytes(mib));
        s3.putObject(b -> b.bucket("single").key("m"), RequestBody.fromBytes(mib));
        ContentService content = context.getBean(ContentService.class);
        assertThat(content.manifest(objects().object("segments", "m").orElseThrow().manifestRoot()).orElseThrow().manifest()
                .chunks()).as("one 64 MB segment holds it all").hasSize(1);
        assertThat(content.manifest(objects().object("single", "m").orElseThrow().manifestRoot()).orElseThrow().manifest()
                .chunks().size()).isGreaterThan(4);
        assertThat(s3.getObjectAsBytes(b -> b.bucket("segments").key("m")).asByteArray()).isEqualTo(mib);
        assertS3Error(() -> s3.createBucket(b -> b.bucket("bad-chunks").overrideConfiguration(
                o -> o.putHeader("x-celluler-chunking", "rabin"))), 400, "InvalidArgument");

        // an object of the bucket is content wanted in three copies
        s3.putObject(b -> b.bucket("triple").key("k"), RequestBody.fromString("kept thrice"));
        String root = objects().object("triple", "k").orElseThrow().manifestRoot();
        assertThat(context.getBean(Replicator.class).factorOf(root)).isEqualTo(3);

        // erasure coding per bucket, instead of copies: its objects are content wanted as k + m shards elsewhere
        s3.createBucket(b -> b.bucket("coded").overrideConfiguration(o -> o.putHeader("x-celluler-erasure", "4+2")));
        assertThat(s3.headBucket(b -> b.bucket("coded")).sdkHttpResponse().firstMatchingHeader("x-celluler-erasure"))
                .hasValue("4+2");
        assertThat(s3.headBucket(b -> b.bucket("coded")).sdkHttpResponse().firstMatchingHeader("x-celluler-replication-factor"))
                .hasValue("1");
        assertThat(s3.headBucket(b -> b.bucket("single")).sdkHttpResponse().firstMatchingHeader("x-celluler-erasure")).isEmpty();
        s3.putObject(b -> b.bucket("coded").key("k"), RequestBody.fromString("kept in shards"));
        String codedRoot = objects().object("coded", "k").orElseThrow().manifestRoot();
        assertThat(context.getBean(Replicator.class).erasureOf(codedRoot)).isEqualTo(new Erasure(4, 2));
        assertThat(context.getBean(Replicator.class).factorOf(codedRoot)).isEqualTo(1);
        for (String bad : new String[] {"4", "0+2", "1+1", "4+0", "12+5", "four+two"}) {
            assertS3Error(() -> s3.createBucket(b -> b.bucket("bad-erasure").overrideConfiguration(
                    o -> o.putHeader("x-celluler-erasure", bad))), 400, "InvalidArgument");
        }
        assertS3Error(() -> s3.createBucket(b -> b.bucket("bad-erasure").overrideConfiguration(o -> o
                .putHeader("x-celluler-erasure", "2+1").putHeader("x-celluler-replication-factor", "2"))), 400, "InvalidArgument");
        assertS3Error(() -> s3.headBucket(b -> b.bucket("bad-erasure")), 404, null);
    }

    @Test
    void objectsRoundTripWithMetadataEtagsAndRanges() throws Exception {
        s3.createBucket(b -> b.bucket("data"));
        byte[] big = random(5_000_000, 1); // several aws-chunked chunks, many CAS chunks

        var put = s3.putObject(b -> b.bucket("data").key("dir/big.bin").contentType("application/x-test")
                .metadata(Map.of("owner", "ana", "purpose", "test")), RequestBody.fromBytes(big));

        assertThat(put.eTag()).isEqualTo("\"" + md5(big) + "\"");
        HeadObjectResponse head = s3.headObject(b -> b.bucket("data").key("dir/big.bin"));
        assertThat(head.contentLength()).isEqualTo(big.length);
        assertThat(head.contentType()).isEqualTo("application/x-test");
        assertThat(head.metadata()).containsEntry("owner", "ana").containsEntry("purpose", "test");
        assertThat(head.eTag()).isEqualTo(put.eTag());

        ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("data").key("dir/big.bin"));
        assertThat(got.asByteArray()).isEqualTo(big);
        ResponseBytes<GetObjectResponse> part = s3.getObjectAsBytes(b -> b.bucket("data").key("dir/big.bin").range("bytes=1000000-1999999"));
        assertThat(part.asByteArray()).isEqualTo(Arrays.copyOfRange(big, 1_000_000, 2_000_000));
        assertThat(part.response().contentRange()).isEqualTo("bytes 1000000-1999999/5000000");
        byte[] tail = s3.getObjectAsBytes(b -> b.bucket("data").key("dir/big.bin").range("bytes=-10")).asByteArray();
        assertThat(tail).isEqualTo(Arrays.copyOfRange(big, big.length - 10, big.length));
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("data").key("dir/big.bin").range("bytes=6000000-")), 416, "InvalidRange");

        // overwrite, then the same bytes under a second key: one copy of the content
        byte[] small = "hello, cells".getBytes();
        s3.putObject(b -> b.bucket("data").key("dir/big.bin"), RequestBody.fromBytes(small));
        s3.putObject(b -> b.bucket("data").key("copy.txt"), RequestBody.fromBytes(small));
        assertThat(s3.getObjectAsBytes(b -> b.bucket("data").key("dir/big.bin")).asByteArray()).isEqualTo(small);
        assertThat(s3.getObjectAsBytes(b -> b.bucket("data").key("copy.txt")).asByteArray()).isEqualTo(small);

        // an empty object, and keys with characters that need encoding
        s3.putObject(b -> b.bucket("data").key("empty"), RequestBody.empty());
        assertThat(s3.getObjectAsBytes(b -> b.bucket("data").key("empty")).asByteArray()).isEmpty();
        String odd = "odd key/with spaces+plus/ünïcödé/100%.txt";
        s3.putObject(b -> b.bucket("data").key(odd), RequestBody.fromBytes(small));
        assertThat(s3.getObjectAsBytes(b -> b.bucket("data").key(odd)).asByteArray()).isEqualTo(small);

        // a copy names the same content (no byte copied), with the source's metadata or new ones
        s3.createBucket(b -> b.bucket("backup"));
        var copied = s3.copyObject(b -> b.sourceBucket("data").sourceKey("copy.txt").destinationBucket("backup")
                .destinationKey("copied.txt"));
        assertThat(copied.copyObjectResult().eTag()).isEqualTo("\"" + md5(small) + "\"");
        assertThat(s3.getObjectAsBytes(b -> b.bucket("backup").key("copied.txt")).asByteArray()).isEqualTo(small);
        s3.copyObject(b -> b.sourceBucket("data").sourceKey("copy.txt").destinationBucket("data").destinationKey("copy.txt")
                .metadataDirective(software.amazon.awssdk.services.s3.model.MetadataDirective.REPLACE).contentType("text/plain")
                .metadata(Map.of("note", "replaced")));
        assertThat(s3.headObject(b -> b.bucket("data").key("copy.txt")).metadata()).containsExactly(Map.entry("note", "replaced"));
        assertS3Error(() -> s3.copyObject(b -> b.sourceBucket("data").sourceKey("copy.txt").destinationBucket("data")
                .destinationKey("copy.txt")), 400, "InvalidRequest");
        assertS3Error(() -> s3.copyObject(b -> b.sourceBucket("data").sourceKey("nothing").destinationBucket("data")
                .destinationKey("x")), 404, "NoSuchKey");
        s3.deleteObject(b -> b.bucket("backup").key("copied.txt"));

        s3.deleteObject(b -> b.bucket("data").key("copy.txt"));
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("data").key("copy.txt")), 404, "NoSuchKey");
        s3.deleteObject(b -> b.bucket("data").key("never-there")); // S3 answers 204 all the same

        var deleted = s3.deleteObjects(b -> b.bucket("data").delete(d -> d.objects(
                software.amazon.awssdk.services.s3.model.ObjectIdentifier.builder().key("empty").build(),
                software.amazon.awssdk.services.s3.model.ObjectIdentifier.builder().key(odd).build(),
                software.amazon.awssdk.services.s3.model.ObjectIdentifier.builder().key("never-there").build())));
        assertThat(deleted.deleted()).extracting(software.amazon.awssdk.services.s3.model.DeletedObject::key)
                .containsExactlyInAnyOrder("empty", odd, "never-there");
        assertThat(s3.listObjectsV2(b -> b.bucket("data")).contents()).extracting(S3Object::key).containsExactly("dir/big.bin");
    }

    @Test
    void multipartUploadsCompleteAbortAndRefuseWhatS3Refuses() throws Exception {
        s3.createBucket(b -> b.bucket("big"));
        byte[] p1 = random(5 << 20, 11);
        byte[] p2 = random(5 << 20, 12);
        byte[] p3 = random(1 << 20, 13);
        String id = s3.createMultipartUpload(b -> b.bucket("big").key("movie.mkv").contentType("video/x-matroska")
                .metadata(Map.of("title", "cells"))).uploadId();
        String e1 = s3.uploadPart(b -> b.bucket("big").key("movie.mkv").uploadId(id).partNumber(1), RequestBody.fromBytes(p1)).eTag();
        String e3 = s3.uploadPart(b -> b.bucket("big").key("movie.mkv").uploadId(id).partNumber(3), RequestBody.fromBytes(p3)).eTag();
        String e2 = s3.uploadPart(b -> b.bucket("big").key("movie.mkv").uploadId(id).partNumber(2), RequestBody.fromBytes(p2)).eTag();
        assertThat(s3.listParts(b -> b.bucket("big").key("movie.mkv").uploadId(id)).parts())
                .extracting(p -> p.partNumber()).containsExactly(1, 2, 3);
        assertThat(s3.listMultipartUploads(b -> b.bucket("big")).uploads()).extracting(u -> u.uploadId()).containsExactly(id);
        assertS3Error(() -> s3.deleteBucket(b -> b.bucket("big")), 409, "BucketNotEmpty"); // an upload is in progress

        var done = s3.completeMultipartUpload(b -> b.bucket("big").key("movie.mkv").uploadId(id).multipartUpload(m -> m.parts(
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(1).eTag(e1).build(),
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(2).eTag(e2).build(),
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(3).eTag(e3).build())));

        MessageDigest md5s = MessageDigest.getInstance("MD5");
        for (byte[] p : List.of(p1, p2, p3)) {
            md5s.update(MessageDigest.getInstance("MD5").digest(p));
        }
        assertThat(done.eTag()).isEqualTo("\"" + HexFormat.of().formatHex(md5s.digest()) + "-3\"");
        byte[] whole = new byte[p1.length + p2.length + p3.length];
        System.arraycopy(p1, 0, whole, 0, p1.length);
        System.arraycopy(p2, 0, whole, p1.length, p2.length);
        System.arraycopy(p3, 0, whole, p1.length + p2.length, p3.length);
        ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket("big").key("movie.mkv"));
        assertThat(got.asByteArray()).isEqualTo(whole);
        assertThat(got.response().contentType()).isEqualTo("video/x-matroska");
        assertThat(got.response().metadata()).containsEntry("title", "cells");
        assertThat(s3.listMultipartUploads(b -> b.bucket("big")).uploads()).isEmpty();
        assertS3Error(() -> s3.uploadPart(b -> b.bucket("big").key("movie.mkv").uploadId(id).partNumber(4),
                RequestBody.fromBytes(p3)), 404, "NoSuchUpload");

        // a small part that is not the last, a wrong ETag, parts out of order: refused, the upload stays
        String id2 = s3.createMultipartUpload(b -> b.bucket("big").key("small.bin")).uploadId();
        String s1 = s3.uploadPart(b -> b.bucket("big").key("small.bin").uploadId(id2).partNumber(1), RequestBody.fromBytes(p3)).eTag();
        String s2 = s3.uploadPart(b -> b.bucket("big").key("small.bin").uploadId(id2).partNumber(2), RequestBody.fromBytes(p3)).eTag();
        assertS3Error(() -> s3.completeMultipartUpload(b -> b.bucket("big").key("small.bin").uploadId(id2).multipartUpload(m -> m.parts(
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(1).eTag(s1).build(),
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(2).eTag(s2).build()))), 400, "EntityTooSmall");
        assertS3Error(() -> s3.completeMultipartUpload(b -> b.bucket("big").key("small.bin").uploadId(id2).multipartUpload(m -> m.parts(
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(1).eTag("\"" + "0".repeat(32) + "\"").build()))),
                400, "InvalidPart");
        assertS3Error(() -> s3.completeMultipartUpload(b -> b.bucket("big").key("small.bin").uploadId(id2).multipartUpload(m -> m.parts(
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(2).eTag(s2).build(),
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(1).eTag(s1).build()))), 400, "InvalidPartOrder");
        assertS3Error(() -> s3.uploadPart(b -> b.bucket("big").key("small.bin").uploadId(id2).partNumber(10_001),
                RequestBody.fromBytes(p3)), 400, "InvalidArgument");
        s3.abortMultipartUpload(b -> b.bucket("big").key("small.bin").uploadId(id2));

        // parts that add up to more than the largest object (64 MB here) do not complete
        byte[] forty = random(40 << 20, 14);
        String id3 = s3.createMultipartUpload(b -> b.bucket("big").key("too-big.bin")).uploadId();
        String t1 = s3.uploadPart(b -> b.bucket("big").key("too-big.bin").uploadId(id3).partNumber(1), RequestBody.fromBytes(forty)).eTag();
        String t2 = s3.uploadPart(b -> b.bucket("big").key("too-big.bin").uploadId(id3).partNumber(2), RequestBody.fromBytes(forty)).eTag();
        assertS3Error(() -> s3.completeMultipartUpload(b -> b.bucket("big").key("too-big.bin").uploadId(id3).multipartUpload(m -> m.parts(
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(1).eTag(t1).build(),
                software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(2).eTag(t2).build()))), 400, "EntityTooLarge");
        s3.abortMultipartUpload(b -> b.bucket("big").key("too-big.bin").uploadId(id3));
        assertThat(s3.listMultipartUploads(b -> b.bucket("big")).uploads()).isEmpty();
        assertS3Error(() -> s3.headObject(b -> b.bucket("big").key("small.bin")), 404, null);
    }

    @Test
    void listingsFoldCommonPrefixesAndPageStably() {
        s3.createBucket(b -> b.bucket("tree"));
        List<String> keys = List.of("a/1", "a/2", "a/b/3", "b/4", "c", "d/5", "d/6", "e");
        keys.forEach(k -> s3.putObject(b -> b.bucket("tree").key(k), RequestBody.fromString(k)));

        ListObjectsV2Response top = s3.listObjectsV2(b -> b.bucket("tree").delimiter("/"));
        assertThat(top.contents()).extracting(S3Object::key).containsExactly("c", "e");
        assertThat(top.commonPrefixes()).extracting(CommonPrefix::prefix).containsExactly("a/", "b/", "d/");
        assertThat(s3.listObjectsV2(b -> b.bucket("tree").prefix("a/").delimiter("/")).commonPrefixes())
                .extracting(CommonPrefix::prefix).containsExactly("a/b/");

        List<String> paged = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
            String t = token;
            ListObjectsV2Response page = s3.listObjectsV2(b -> b.bucket("tree").maxKeys(3).continuationToken(t));
            page.contents().forEach(o -> paged.add(o.key()));
            token = page.nextContinuationToken();
            pages++;
        } while (token != null && pages < 10);
        assertThat(paged).containsExactlyElementsOf(keys);
        assertThat(pages).isEqualTo(3);

        var v1 = s3.listObjects(b -> b.bucket("tree").marker("b/4").maxKeys(2));
        assertThat(v1.contents()).extracting(S3Object::key).containsExactly("c", "d/5");
        assertThat(v1.isTruncated()).isTrue();
        assertThat(s3.listObjectsV2(b -> b.bucket("tree").prefix("d/")).contents()).extracting(S3Object::size)
                .containsExactly(3L, 3L);

        // paging one entry at a time with a delimiter: each common prefix once (v1 markers and version markers)
        List<String> v1Paged = new ArrayList<>();
        String marker = null;
        for (int page = 0; page < 20; page++) {
            String m = marker;
            var r = s3.listObjects(b -> b.bucket("tree").delimiter("/").maxKeys(1).marker(m));
            r.contents().forEach(o -> v1Paged.add(o.key()));
            r.commonPrefixes().forEach(p -> v1Paged.add(p.prefix()));
            if (!r.isTruncated()) {
                break;
            }
            marker = r.nextMarker();
        }
        assertThat(v1Paged).containsExactly("a/", "b/", "c", "d/", "e");
        List<String> versionsPaged = new ArrayList<>();
        String keyMarker = null;
        String versionMarker = null;
        for (int page = 0; page < 20; page++) {
            String km = keyMarker;
            String vm = versionMarker;
            var r = s3.listObjectVersions(b -> b.bucket("tree").delimiter("/").maxKeys(1).keyMarker(km).versionIdMarker(vm));
            r.versions().forEach(v -> versionsPaged.add(v.key()));
            r.commonPrefixes().forEach(p -> versionsPaged.add(p.prefix()));
            if (!r.isTruncated()) {
                break;
            }
            keyMarker = r.nextKeyMarker();
            versionMarker = r.nextVersionIdMarker();
        }
        assertThat(versionsPaged).containsExactly("a/", "b/", "c", "d/", "e");

        // S3's order is the keys' UTF-8 bytes, not a language's collation
        s3.createBucket(b -> b.bucket("order"));
        List.of("a", "B", "_x", "é", "Z").forEach(k -> s3.putObject(b -> b.bucket("order").key(k), RequestBody.fromString(k)));
        assertThat(s3.listObjectsV2(b -> b.bucket("order")).contents()).extracting(S3Object::key)
                .containsExactly("B", "Z", "_x", "a", "é");
    }

    @Test
    void badRequestsGetS3ErrorsAndNeverA500() throws Exception {
        s3.createBucket(b -> b.bucket("mine"));

        try (S3Client wrongSecret = client(KEY, "not-the-secret")) {
            assertS3Error(() -> wrongSecret.listBuckets(), 403, "SignatureDoesNotMatch");
            assertS3Error(() -> wrongSecret.putObject(b -> b.bucket("mine").key("x"), RequestBody.fromString("x")), 403,
                    "SignatureDoesNotMatch");
        }
        try (S3Client unknown = client("nobody", "x")) {
            assertS3Error(() -> unknown.listBuckets(), 403, "InvalidAccessKeyId");
        }
        try (S3Client otherTenant = client("other", "other-secret")) {
            assertThat(otherTenant.listBuckets().buckets()).isEmpty();
            assertS3Error(() -> otherTenant.getObjectAsBytes(b -> b.bucket("mine").key("x")), 403, "AccessDenied");
            assertS3Error(() -> otherTenant.createBucket(b -> b.bucket("mine")), 409, "BucketAlreadyExists");
        }
        // (the SDK refuses most bad names itself; "actuator" passes its checks and is reserved here)
        assertS3Error(() -> s3.createBucket(b -> b.bucket("actuator")), 400, "InvalidBucketName");
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("mine").key("missing")), 404, "NoSuchKey");
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("no-such-bucket").key("x")), 404, "NoSuchBucket");
        assertS3Error(() -> s3.putObject(b -> b.bucket("mine").key("k".repeat(1025)), RequestBody.fromString("x")), 400,
                "KeyTooLongError");
        assertS3Error(() -> s3.putObject(b -> b.bucket("mine").key("big"), RequestBody.fromBytes(new byte[65 << 20])), 400,
                "EntityTooLarge");
        assertS3Error(() -> s3.getBucketAcl(b -> b.bucket("mine")), 501, "NotImplemented");
        assertThat(s3.listObjectsV2(b -> b.bucket("mine")).contents()).isEmpty(); // nothing partial was stored

        // without any signature, and with a malformed header: XML errors, not 500s
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(endpoint.resolve("/mine")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(403);
        assertThat(anonymous.body()).contains("<Code>AccessDenied</Code>").contains("<RequestId>");
        HttpResponse<String> malformed = http.send(HttpRequest.newBuilder(endpoint.resolve("/mine"))
                .header("Authorization", "AWS4-HMAC-SHA256 nonsense").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("<Code>AuthorizationHeaderMalformed</Code>");
        // the actuator stays reachable on the same port
        assertThat(http.send(HttpRequest.newBuilder(endpoint.resolve("/actuator/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }

    @Test
    void presignedUrlsWorkUntilTheyExpireAndFailWhenTampered() throws Exception {
        s3.createBucket(b -> b.bucket("share"));
        byte[] data = random(100_000, 3);
        s3.putObject(b -> b.bucket("share").key("file.bin"), RequestBody.fromBytes(data));
        HttpClient http = HttpClient.newHttpClient();
        try (S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET)))
                .serviceConfiguration(software.amazon.awssdk.services.s3.S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .build()) {
            URI url = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofMinutes(5))
                    .getObjectRequest(g -> g.bucket("share").key("file.bin"))).url().toURI();
            HttpResponse<byte[]> ok = http.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).isEqualTo(data);

            URI tampered = URI.create(url.toString().replace("file.bin", "other.bin"));
            HttpResponse<String> bad = http.send(HttpRequest.newBuilder(tampered).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(bad.statusCode()).isEqualTo(403);
            assertThat(bad.body()).contains("<Code>SignatureDoesNotMatch</Code>");

            URI shortLived = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofSeconds(1))
                    .getObjectRequest(g -> g.bucket("share").key("file.bin"))).url().toURI();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(250)).until(() ->
                    http.send(HttpRequest.newBuilder(shortLived).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 403);
            assertThat(http.send(HttpRequest.newBuilder(shortLived).GET().build(), HttpResponse.BodyHandlers.ofString()).body())
                    .contains("Request has expired");
        }
    }

    @Test
    void versionedBucketsKeepEveryVersionAndDeleteMarkers() {
        s3.createBucket(b -> b.bucket("history"));
        assertThat(s3.getBucketVersioning(b -> b.bucket("history")).status()).isNull();
        s3.putObject(b -> b.bucket("history").key("k"), RequestBody.fromString("before versioning"));
        s3.putBucketVersioning(b -> b.bucket("history").versioningConfiguration(c -> c.status(BucketVersioningStatus.ENABLED)));
        assertThat(s3.getBucketVersioning(b -> b.bucket("history")).status()).isEqualTo(BucketVersioningStatus.ENABLED);

        String v1 = s3.putObject(b -> b.bucket("history").key("k"), RequestBody.fromString("one")).versionId();
        String v2 = s3.putObject(b -> b.bucket("history").key("k"), RequestBody.fromString("two")).versionId();
        assertThat(v1).matches("[0-9a-f]{32}").isNotEqualTo(v2);
        ResponseBytes<GetObjectResponse> latest = s3.getObjectAsBytes(b -> b.bucket("history").key("k"));
        assertThat(latest.asUtf8String()).isEqualTo("two");
        assertThat(latest.response().versionId()).isEqualTo(v2);
        assertThat(s3.getObjectAsBytes(b -> b.bucket("history").key("k").versionId(v1)).asUtf8String()).isEqualTo("one");
        assertThat(s3.getObjectAsBytes(b -> b.bucket("history").key("k").versionId("null")).asUtf8String())
                .isEqualTo("before versioning");

        // a delete hides the key behind a marker; every version stays
        DeleteObjectResponse deleted = s3.deleteObject(b -> b.bucket("history").key("k"));
        assertThat(deleted.deleteMarker()).isTrue();
        String marker = deleted.versionId();
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("history").key("k")), 404, "NoSuchKey");
        assertThat(s3.listObjectsV2(b -> b.bucket("history")).contents()).isEmpty();
        ListObjectVersionsResponse all = s3.listObjectVersions(b -> b.bucket("history"));
        assertThat(all.deleteMarkers()).singleElement().satisfies(m -> {
            assertThat(m.versionId()).isEqualTo(marker);
            assertThat(m.isLatest()).isTrue();
        });
        assertThat(all.versions()).extracting(ObjectVersion::versionId).containsExactly(v2, v1, "null");
        assertThat(all.versions()).noneMatch(ObjectVersion::isLatest);

        // removing the marker brings the object back; removing the newest version makes the one before current
        s3.deleteObject(b -> b.bucket("history").key("k").versionId(marker));
        assertThat(s3.getObjectAsBytes(b -> b.bucket("history").key("k")).asUtf8String()).isEqualTo("two");
        String root2 = objects().version("history", "k", v2).orElseThrow().manifestRoot();
        s3.deleteObject(b -> b.bucket("history").key("k").versionId(v2));
        assertThat(s3.getObjectAsBytes(b -> b.bucket("history").key("k")).asUtf8String()).isEqualTo("one");
        assertThat(context.getBean(ContentIndex.class).manifest(root2).orElseThrow().refCount())
                .as("a version removed for good releases its content").isZero();

        // a copy of an older version; then suspended: writes replace the version "null"
        var copy = s3.copyObject(b -> b.sourceBucket("history").sourceKey("k").sourceVersionId("null")
                .destinationBucket("history").destinationKey("copy"));
        assertThat(copy.copySourceVersionId()).isEqualTo("null");
        assertThat(s3.getObjectAsBytes(b -> b.bucket("history").key("copy")).asUtf8String()).isEqualTo("before versioning");
        s3.putBucketVersioning(b -> b.bucket("history").versioningConfiguration(c -> c.status(BucketVersioningStatus.SUSPENDED)));
        assertThat(s3.putObject(b -> b.bucket("history").key("k"), RequestBody.fromString("three")).versionId()).isEqualTo("null");
        assertThat(s3.putObject(b -> b.bucket("history").key("k"), RequestBody.fromString("four")).versionId()).isEqualTo("null");
        assertThat(s3.listObjectVersions(b -> b.bucket("history").prefix("k")).versions()).extracting(ObjectVersion::versionId)
                .containsExactly("null", v1);

        // paging through versions two at a time sees each once
        List<String> seen = new ArrayList<>();
        String keyMarker = null;
        String versionMarker = null;
        for (int page = 0; page < 10; page++) {
            String km = keyMarker;
            String vm = versionMarker;
            ListObjectVersionsResponse r = s3.listObjectVersions(b -> b.bucket("history").maxKeys(2).keyMarker(km).versionIdMarker(vm));
            r.versions().forEach(v -> seen.add(v.key() + "@" + v.versionId()));
            if (!r.isTruncated()) {
                break;
            }
            keyMarker = r.nextKeyMarker();
            versionMarker = r.nextVersionIdMarker();
        }
        assertThat(seen).containsExactly("copy@" + copy.versionId(), "k@null", "k@" + v1);

        // bad and unknown version ids; a bucket with versions left is not empty
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("history").key("k").versionId("nope")), 400, "InvalidArgument");
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("history").key("k").versionId("0".repeat(32))), 404, "NoSuchVersion");
        var multi = s3.deleteObjects(b -> b.bucket("history").delete(d -> d.objects(
                ObjectIdentifier.builder().key("k").versionId(v1).build(),
                ObjectIdentifier.builder().key("k").versionId("null").build(),
                ObjectIdentifier.builder().key("copy").build())));
        assertThat(multi.deleted()).hasSize(3);
        assertThat(multi.deleted().get(2).deleteMarker()).as("suspended: a null delete marker").isTrue();
        assertS3Error(() -> s3.deleteBucket(b -> b.bucket("history")), 409, "BucketNotEmpty");
    }

    @Test
    void lifecycleRulesExpireObjectsVersionsMarkersAndStaleUploads() {
        s3.createBucket(b -> b.bucket("aging"));
        assertS3Error(() -> s3.getBucketLifecycleConfiguration(b -> b.bucket("aging")), 404, "NoSuchLifecycleConfiguration");
        List<LifecycleRule> rules = List.of(
                LifecycleRule.builder().id("logs").filter(f -> f.prefix("logs/")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(1)).abortIncompleteMultipartUpload(a -> a.daysAfterInitiation(1)).build(),
                LifecycleRule.builder().id("old-versions").filter(f -> f.prefix("v/")).status(ExpirationStatus.ENABLED)
                        .noncurrentVersionExpiration(n -> n.noncurrentDays(1).newerNoncurrentVersions(1)).build(),
                LifecycleRule.builder().id("markers").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.expiredObjectDeleteMarker(true)).build(),
                LifecycleRule.builder().id("off").filter(f -> f.prefix("")).status(ExpirationStatus.DISABLED)
                        .expiration(e -> e.days(1)).build());
        s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(rules)));
        assertThat(s3.getBucketLifecycleConfiguration(b -> b.bucket("aging")).rules()).isEqualTo(rules);

        s3.putObject(b -> b.bucket("aging").key("logs/a"), RequestBody.fromString("a"));
        s3.putObject(b -> b.bucket("aging").key("keep/b"), RequestBody.fromString("b"));
        String upload = s3.createMultipartUpload(b -> b.bucket("aging").key("logs/big")).uploadId();
        LifecycleWorker worker = context.getBean(LifecycleWorker.class);
        Instant now = Instant.now();
        assertThat(worker.runPass(now)).isEqualTo(new LifecycleWorker.Pass(0, 0, 0, 0));

        // two days on: the log and the stale upload go, the other key stays (the disabled rule does nothing)
        assertThat(worker.runPass(now.plus(Duration.ofDays(2)))).isEqualTo(new LifecycleWorker.Pass(1, 0, 0, 1));
        assertS3Error(() -> s3.getObjectAsBytes(b -> b.bucket("aging").key("logs/a")), 404, "NoSuchKey");
        assertThat(s3.getObjectAsBytes(b -> b.bucket("aging").key("keep/b")).asUtf8String()).isEqualTo("b");
        assertS3Error(() -> s3.listParts(b -> b.bucket("aging").key("logs/big").uploadId(upload)), 404, "NoSuchUpload");

        // versioned: noncurrent versions beyond the newest one go; a delete marker left alone goes
        s3.putBucketVersioning(b -> b.bucket("aging").versioningConfiguration(c -> c.status(BucketVersioningStatus.ENABLED)));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            ids.add(s3.putObject(b -> b.bucket("aging").key("v/x"), RequestBody.fromString("x" + n)).versionId());
        }
        String lone = s3.putObject(b -> b.bucket("aging").key("gone"), RequestBody.fromString("g")).versionId();
        s3.deleteObject(b -> b.bucket("aging").key("gone").versionId(lone));
        s3.deleteObject(b -> b.bucket("aging").key("gone")); // a marker over nothing
        assertThat(worker.runPass(now.plus(Duration.ofDays(3)))).isEqualTo(new LifecycleWorker.Pass(0, 2, 1, 0));
        assertThat(s3.listObjectVersions(b -> b.bucket("aging").prefix("v/")).versions()).extracting(ObjectVersion::versionId)
                .containsExactly(ids.get(3), ids.get(2));
        assertThat(s3.listObjectVersions(b -> b.bucket("aging").prefix("gone")).deleteMarkers()).isEmpty();

        // what is not supported, and what is malformed, is said so
        assertS3Error(() -> s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("cold").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .transitions(t -> t.days(30).storageClass(TransitionStorageClass.GLACIER)).build()))), 501, "NotImplemented");
        assertS3Error(() -> s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("zero").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(0)).build()))), 400, "InvalidArgument");
        assertS3Error(() -> s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("twice").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(1)).build(),
                LifecycleRule.builder().id("twice").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(2)).build()))), 400, "InvalidArgument");
        assertS3Error(() -> s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("ages").filter(f -> f.prefix("")).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(10_000_000)).build()))), 400, "InvalidArgument");
        assertS3Error(() -> s3.putBucketLifecycleConfiguration(b -> b.bucket("aging").lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("long").filter(f -> f.prefix("p".repeat(1025))).status(ExpirationStatus.ENABLED)
                        .expiration(e -> e.days(1)).build()))), 400, "InvalidArgument");
        assertThat(s3.getBucketLifecycleConfiguration(b -> b.bucket("aging")).rules()).as("unchanged by refused ones")
                .isEqualTo(rules);
        s3.deleteBucketLifecycle(b -> b.bucket("aging"));
        assertS3Error(() -> s3.getBucketLifecycleConfiguration(b -> b.bucket("aging")), 404, "NoSuchLifecycleConfiguration");
    }

    @Test
    void concurrentWritesOfOneKeyLeaveOneLatestVersion() throws Exception {
        s3.createBucket(b -> b.bucket("race"));
        s3.putBucketVersioning(b -> b.bucket("race").versioningConfiguration(c -> c.status(BucketVersioningStatus.ENABLED)));
        int writers = 6;
        int each = 4;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int id = w;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        s3.putObject(b -> b.bucket("race").key("same"), RequestBody.fromString("writer " + id + " put " + i));
                    }
                }));
            }
            for (var f : done) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<ObjectVersion> versions = s3.listObjectVersions(b -> b.bucket("race")).versions();
        assertThat(versions).hasSize(writers * each);
        assertThat(versions).filteredOn(ObjectVersion::isLatest).singleElement()
                .satisfies(v -> assertThat(v.versionId()).isEqualTo(versions.get(0).versionId()));
        assertThat(s3.getObjectAsBytes(b -> b.bucket("race").key("same")).response().versionId())
                .isEqualTo(versions.get(0).versionId());
    }

    private ObjectIndex objects() {
        return context.getBean(ObjectIndex.class);
    }

    private static void assertS3Error(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, int status, String code) {
        assertThatThrownBy(call).isInstanceOfSatisfying(S3Exception.class, e -> {
            assertThat(e.statusCode()).as(e.getMessage()).isEqualTo(status);
            if (code != null) {
                assertThat(e.awsErrorDetails().errorCode()).as(e.getMessage()).isEqualTo(code);
            }
        });
    }
}
