package io.celluler.cas.s3;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 as S3 uses it (the "Authenticating Requests (AWS Signature Version 4)" pages of the S3
 * API reference): the canonical request, the string to sign, the derived signing key, and the chunk signatures of
 * {@code aws-chunked} uploads. Pure functions; {@link S3Auth} decides what a request must carry.
 */
public final class SigV4 {

    public static final String ALGORITHM = "AWS4-HMAC-SHA256";
    public static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    public static final String STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    public static final String STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    public static final String STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    public static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static final HexFormat HEX = HexFormat.of();

    private SigV4() {
    }

    /**
     * The canonical request.
     *
     * @param method        HTTP method
     * @param rawPath       the path as sent (still percent-encoded)
     * @param query         decoded query parameters (a key may repeat); the signature parameter already removed
     * @param headers       lowercase header name → values (as received)
     * @param signedHeaders the lowercase names the client signed, in the order it gave
     * @param payloadHash   the hashed payload value ({@code x-amz-content-sha256} or {@link #UNSIGNED_PAYLOAD})
     */
    public static String canonicalRequest(String method, String rawPath, List<Map.Entry<String, String>> query,
            Map<String, List<String>> headers, List<String> signedHeaders, String payloadHash) {
        StringBuilder b = new StringBuilder();
        b.append(method).append('\n');
        b.append(canonicalUri(rawPath)).append('\n');
        b.append(canonicalQuery(query)).append('\n');
        List<String> names = new ArrayList<>(signedHeaders);
        names.sort(null);
        for (String name : names) {
            List<String> values = headers.getOrDefault(name, List.of());
            List<String> trimmed = new ArrayList<>(values.size());
            for (String v : values) {
                trimmed.add(v.trim().replaceAll(" +", " "));
            }
            b.append(name).append(':').append(String.join(",", trimmed)).append('\n');
        }
        b.append('\n');
        b.append(String.join(";", names)).append('\n');
        b.append(payloadHash);
        return b.toString();
    }

    /** S3 signs the path as sent, with each segment's characters encoded once (RFC 3986 unreserved kept). */
    static String canonicalUri(String rawPath) {
        if (rawPath.isEmpty()) {
            return "/";
        }
        StringBuilder b = new StringBuilder();
        String decoded = percentDecode(rawPath);
        for (int i = 0; i < decoded.length(); ) {
            int cp = decoded.codePointAt(i);
            if (cp == '/') {
                b.append('/');
            } else {
                b.append(uriEncode(new String(Character.toChars(cp))));
            }
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    static String canonicalQuery(List<Map.Entry<String, String>> query) {
        TreeMap<String, List<String>> sorted = new TreeMap<>();
        for (Map.Entry<String, String> e : query) {
            sorted.computeIfAbsent(uriEncode(e.getKey()), k -> new ArrayList<>()).add(uriEncode(e.getValue()));
        }
        List<String> parts = new ArrayList<>();
        sorted.forEach((k, vs) -> {
            vs.sort(null);
            vs.forEach(v -> parts.add(k + "=" + v));
        });
        return String.join("&", parts);
    }

    /** RFC 3986 encoding as AWS specifies it: unreserved characters kept, everything else %XX (uppercase). */
    public static String uriEncode(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return b.toString();
    }

    /** Decodes %XX sequences as UTF-8 (a '+' stays a '+': paths are not forms; a malformed escape stays as it is). */
    public static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write((hi << 4) | lo);
                    i += 2;
                    continue;
                }
            }
            int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
            out.writeBytes(s.substring(i, end).getBytes(StandardCharsets.UTF_8));
            i = end - 1;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** {@code <date>/<region>/<service>/aws4_request}. */
    public static String scope(String date, String region, String service) {
        return date + "/" + region + "/" + service + "/aws4_request";
    }

    public static String stringToSign(String amzDate, String scope, String canonicalRequest) {
        return ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
    }

    /** The signing key of a secret for one day, region and service. */
    public static byte[] signingKey(String secret, String date, String region, String service) {
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
        k = hmac(k, region);
        k = hmac(k, service);
        return hmac(k, "aws4_request");
    }

    public static String signature(byte[] signingKey, String stringToSign) {
        return HEX.formatHex(hmac(signingKey, stringToSign));
    }

    /** The string to sign of one chunk of an {@code aws-chunked} body. */
    public static String chunkStringToSign(String amzDate, String scope, String previousSignature, String chunkSha256Hex) {
        return "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n" + EMPTY_SHA256 + "\n"
                + chunkSha256Hex;
    }

    /** The string to sign of the trailing headers of an {@code aws-chunked} body. */
    public static String trailerStringToSign(String amzDate, String scope, String previousSignature, String trailerSha256Hex) {
        return "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n" + trailerSha256Hex;
    }

    public static String sha256Hex(byte[] data) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compares two signatures in time independent of where they differ. */
    public static boolean same(String expected, String given) {
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII));
    }
}
