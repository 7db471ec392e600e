package io.celluler.cas.s3;

/**
 * An S3 error: the code and HTTP status real clients switch on (the S3 API reference's "Error responses" list),
 * rendered as the XML error body by {@link S3Errors}.
 */
public class S3Exception extends RuntimeException {

    private final int status;
    private final String code;
    private final String resource;
    private final java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();

    public S3Exception(int status, String code, String message, String resource) {
        super(message);
        this.status = status;
        this.code = code;
        this.resource = resource;
    }

    public S3Exception(int status, String code, String message) {
        this(status, code, message, null);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** Adds a header the error answer carries (e.g. {@code x-amz-delete-marker} on a deleted object's 404). */
    public S3Exception withHeader(String name, String value) {
        headers.put(name, value);
        return this;
    }

    public java.util.Map<String, String> headers() {
        return headers;
    }

    /** The bucket or object the error is about, or null. */
    public String resource() {
        return resource;
    }

    public static S3Exception accessDenied(String message) {
        return new S3Exception(403, "AccessDenied", message);
    }

    public static S3Exception signatureMismatch() {
        return new S3Exception(403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    }

    public static S3Exception invalidArgument(String message) {
        return new S3Exception(400, "InvalidArgument", message);
    }

    public static S3Exception noSuchBucket(String bucket) {
        return new S3Exception(404, "NoSuchBucket", "The specified bucket does not exist", bucket);
    }

    public static S3Exception noSuchKey(String key) {
        return new S3Exception(404, "NoSuchKey", "The specified key does not exist.", key);
    }
}
