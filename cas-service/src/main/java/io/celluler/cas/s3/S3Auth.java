package io.celluler.cas.s3;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Authenticates an S3 request signed with AWS Signature Version 4, in the {@code Authorization} header or in
 * the query string (a presigned URL). Anonymous requests are refused: every call needs a key.
 *
 * <p>What it checks, and the error real clients expect for each: the header's form
 * ({@code AuthorizationHeaderMalformed}), a known access key ({@code InvalidAccessKeyId}), the request time within
 * 15 minutes of ours ({@code RequestTimeTooSkewed}), a presigned URL not expired ({@code AccessDenied}, "Request has
 * expired"), that {@code host} and every {@code x-amz-*} header is signed, and the signature
 * ({@code SignatureDoesNotMatch}). A signed payload hash is checked against the body by the caller (it reads the
 * body); an {@code aws-chunked} body is checked chunk by chunk by {@link AwsChunkedDecoder}.
 */
public final class S3Auth {

    static final Duration MAX_SKEW = Duration.ofMinutes(15);
    static final long MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    /** A key: its secret and the tenant whose buckets it may use. */
    public record Key(String accessKeyId, String secret, String tenant) {
    }

    /** Who signed, and what the body's chunks must be signed with. */
    public record Principal(Key key, String payloadHash, byte[] signingKey, String amzDate, String scope, String seedSignature) {
    }

    /** The parts of a request that the signature covers. */
    public record Request(String method, String rawPath, List<Map.Entry<String, String>> query,
            Map<String, List<String>> headers) {

        Optional<String> header(String lowercaseName) {
            List<String> v = headers.get(lowercaseName);
            return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
        }

        Optional<String> param(String name) {
            return query.stream().filter(e -> e.getKey().equals(name)).map(Map.Entry::getValue).findFirst();
        }
    }

    private final Function<String, Optional<Key>> keys;
    private final String region;

    public S3Auth(Function<String, Optional<Key>> keys, String region) {
        this.keys = keys;
        this.region = region;
    }

    public Principal authenticate(Request r, Instant now) {
        Optional<String> header = r.header("authorization");
        if (header.isPresent()) {
            return fromHeader(r, header.get(), now);
        }
        if (r.param("X-Amz-Algorithm").isPresent()) {
            return fromQuery(r, now);
        }
        throw S3Exception.accessDenied("Anonymous access is not allowed: sign the request with an access key (AWS Signature Version 4)");
    }

    private Principal fromHeader(Request r, String value, Instant now) {
        if (!value.startsWith(SigV4.ALGORITHM + " ")) {
            if (value.startsWith("AWS ")) {
                throw new S3Exception(400, "InvalidRequest", "AWS Signature Version 2 is not supported: use Signature Version 4");
            }
            throw malformed("the Authorization header must start with " + SigV4.ALGORITHM);
        }
        String credential = null;
        String signedHeaders = null;
        String signature = null;
        for (String part : value.substring(SigV4.ALGORITHM.length() + 1).split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq < 0) {
                throw malformed("'" + p + "' is not name=value");
            }
            switch (p.substring(0, eq)) {
                case "Credential" -> credential = p.substring(eq + 1);
                case "SignedHeaders" -> signedHeaders = p.substring(eq + 1);
                case "Signature" -> signature = p.substring(eq + 1);
                default -> throw malformed("unknown component '" + p.substring(0, eq) + "'");
            }
        }
        if (credential == null || signedHeaders == null || signature == null) {
            throw malformed("Credential, SignedHeaders and Signature are required");
        }
        String amzDate = r.header("x-amz-date").orElseThrow(() ->
                new S3Exception(403, "AccessDenied", "AWS Signature Version 4 requires a valid x-amz-date header"));
        Instant at = parseAmzDate(amzDate);
        if (Duration.between(at, now).abs().compareTo(MAX_SKEW) > 0) {
            throw new S3Exception(403, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.");
        }
        String payloadHash = r.header("x-amz-content-sha256").orElseThrow(() ->
                new S3Exception(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"));
        return verify(r, credential, List.of(signedHeaders.split(";")), signature, amzDate, payloadHash, r.query());
    }

    private Principal fromQuery(Request r, Instant now) {
        if (!SigV4.ALGORITHM.equals(r.param("X-Amz-Algorithm").orElse(""))) {
            throw new S3Exception(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be " + SigV4.ALGORITHM);
        }
        String credential = required(r, "X-Amz-Credential");
        String amzDate = required(r, "X-Amz-Date");
        String expires = required(r, "X-Amz-Expires");
        String signedHeaders = required(r, "X-Amz-SignedHeaders");
        String signature = required(r, "X-Amz-Signature");
        long seconds;
        try {
            seconds = Long.parseLong(expires);
        } catch (NumberFormatException e) {
            throw new S3Exception(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds");
        }
        if (seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
            throw new S3Exception(400, "AuthorizationQueryParametersError",
                    "X-Amz-Expires must be between 1 and " + MAX_PRESIGN_SECONDS + " seconds");
        }
        Instant at = parseAmzDate(amzDate);
        if (now.isAfter(at.plusSeconds(seconds))) {
            throw S3Exception.accessDenied("Request has expired");
        }
        if (at.isAfter(now.plus(MAX_SKEW))) {
            throw new S3Exception(403, "RequestTimeTooSkewed", "The request is signed for a time in the future.");
        }
        List<Map.Entry<String, String>> query = new ArrayList<>(r.query());
        query.removeIf(e -> e.getKey().equals("X-Amz-Signature"));
        String payloadHash = r.header("x-amz-content-sha256").orElse(SigV4.UNSIGNED_PAYLOAD);
        return verify(r, credential, List.of(signedHeaders.split(";")), signature, amzDate, payloadHash, query);
    }

    private Principal verify(Request r, String credential, List<String> signedHeaders, String signature, String amzDate,
            String payloadHash, List<Map.Entry<String, String>> query) {
        String[] c = credential.split("/");
        if (c.length != 5 || !c[4].equals("aws4_request") || !c[3].equals("s3")) {
            throw malformed("the Credential must be <key>/<yyyyMMdd>/<region>/s3/aws4_request");
        }
        if (!region.equals(c[2])) {
            throw new S3Exception(400, "AuthorizationHeaderMalformed",
                    "the region '" + c[2] + "' is wrong; expecting '" + region + "'");
        }
        if (!amzDate.startsWith(c[1])) {
            throw malformed("the Credential's date " + c[1] + " is not the request's date");
        }
        Key key = keys.apply(c[0]).orElseThrow(() ->
                new S3Exception(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."));
        if (!signedHeaders.contains("host")) {
            throw malformed("the host header must be signed");
        }
        for (String h : r.headers().keySet()) {
            if (h.startsWith("x-amz-") && !signedHeaders.contains(h) && !h.equals("x-amz-content-sha256")) {
                throw S3Exception.accessDenied("There were headers present in the request which were not signed: " + h);
            }
        }
        String scope = SigV4.scope(c[1], c[2], c[3]);
        String canonical = SigV4.canonicalRequest(r.method(), r.rawPath(), query, r.headers(), signedHeaders, payloadHash);
        byte[] signingKey = SigV4.signingKey(key.secret(), c[1], c[2], c[3]);
        String expected = SigV4.signature(signingKey, SigV4.stringToSign(amzDate, scope, canonical));
        if (!SigV4.same(expected, signature)) {
            throw S3Exception.signatureMismatch();
        }
        return new Principal(key, payloadHash, signingKey, amzDate, scope, signature);
    }

    private static String required(Request r, String name) {
        return r.param(name).orElseThrow(() -> new S3Exception(400, "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the " + String.join(", ", Arrays.asList(
                        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                        "X-Amz-Expires")) + " parameters; " + name + " is missing"));
    }

    private static Instant parseAmzDate(String s) {
        try {
            return AMZ_DATE.parse(s, Instant::from);
        } catch (DateTimeParseException e) {
            throw new S3Exception(403, "AccessDenied", "the request date '" + s + "' is not yyyyMMdd'T'HHmmss'Z'");
        }
    }

    private static S3Exception malformed(String why) {
        return new S3Exception(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + why);
    }
}
