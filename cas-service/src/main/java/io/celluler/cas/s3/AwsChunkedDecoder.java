package io.celluler.cas.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * Reads an {@code aws-chunked} request body (S3's "Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks"): {@code <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n} repeated, a
 * zero-size chunk, then optional trailing headers ({@code x-amz-checksum-*}, {@code x-amz-trailer-signature}).
 *
 * <p>With a signed payload, each chunk's signature chains from the previous one (the seed is the request's
 * signature) and is checked before any of the chunk's bytes is returned; a trailing checksum is checked against
 * the decoded bytes. Anything that does not verify fails the read with {@link S3Exception} (the upload is then
 * dropped: nothing is stored). Chunks are at most {@link #MAX_CHUNK_BYTES}.
 */
public final class AwsChunkedDecoder extends InputStream {

    static final int MAX_CHUNK_BYTES = 16 << 20;
    private static final int MAX_LINE = 4096;

    private final InputStream in;
    private final S3Auth.Principal principal;
    private final boolean signed;
    private final boolean trailer;
    private String previousSignature;
    private byte[] chunk = new byte[0];
    private int pos;
    private boolean done;
    private long decodedBytes;
    private final Map<String, Checksum> checksums = new LinkedHashMap<>();
    private final Map<String, String> trailers = new LinkedHashMap<>();

    /**
     * @param principal the request's signer ({@link S3Auth}); its payload hash says whether chunks are signed and
     *                  whether trailers follow
     */
    public AwsChunkedDecoder(InputStream in, S3Auth.Principal principal, String declaredChecksumTrailer) {
        this.in = in;
        this.principal = principal;
        String mode = principal.payloadHash();
        this.signed = mode.equals(SigV4.STREAMING_PAYLOAD) || mode.equals(SigV4.STREAMING_PAYLOAD_TRAILER);
        this.trailer = mode.equals(SigV4.STREAMING_PAYLOAD_TRAILER) || mode.equals(SigV4.STREAMING_UNSIGNED_TRAILER);
        this.previousSignature = principal.seedSignature();
        if (declaredChecksumTrailer != null) {
            switch (declaredChecksumTrailer.toLowerCase()) {
                case "x-amz-checksum-crc32" -> checksums.put("x-amz-checksum-crc32", new CRC32());
                case "x-amz-checksum-crc32c" -> checksums.put("x-amz-checksum-crc32c", new CRC32C());
                default -> {
                    // other algorithms (SHA-1, SHA-256, CRC64NVME) are read but not checked here
                }
            }
        }
    }

    /** Whether the payload mode is one this decoder reads. */
    public static boolean handles(String payloadHash) {
        return payloadHash.equals(SigV4.STREAMING_PAYLOAD) || payloadHash.equals(SigV4.STREAMING_PAYLOAD_TRAILER)
                || payloadHash.equals(SigV4.STREAMING_UNSIGNED_TRAILER);
    }

    public long decodedBytes() {
        return decodedBytes;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (pos == chunk.length) {
            if (done) {
                return -1;
            }
            nextChunk();
        }
        int n = Math.min(len, chunk.length - pos);
        System.arraycopy(chunk, pos, b, off, n);
        pos += n;
        return n;
    }

    private void nextChunk() throws IOException {
        String header = line();
        String sizeHex = header;
        String signature = null;
        int semi = header.indexOf(';');
        if (semi >= 0) {
            sizeHex = header.substring(0, semi);
            String ext = header.substring(semi + 1);
            if (!ext.startsWith("chunk-signature=")) {
                throw bad("a chunk header extension must be chunk-signature");
            }
            signature = ext.substring("chunk-signature=".length());
        }
        int size;
        try {
            size = Integer.parseInt(sizeHex.trim(), 16);
        } catch (NumberFormatException e) {
            throw bad("a chunk size is not hexadecimal");
        }
        if (size < 0 || size > MAX_CHUNK_BYTES) {
            throw bad("a chunk is larger than " + MAX_CHUNK_BYTES + " bytes");
        }
        byte[] data = in.readNBytes(size);
        if (data.length != size) {
            throw new S3Exception(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header");
        }
        if (signed) {
            if (signature == null) {
                throw bad("a chunk signature is missing");
            }
            String expected = SigV4.signature(principal.signingKey(), SigV4.chunkStringToSign(principal.amzDate(),
                    principal.scope(), previousSignature, SigV4.sha256Hex(data)));
            if (!SigV4.same(expected, signature)) {
                throw S3Exception.signatureMismatch();
            }
            previousSignature = signature;
        }
        if (size > 0) {
            expectCrlf();
            checksums.values().forEach(c -> c.update(data, 0, data.length));
            decodedBytes += size;
            chunk = data;
            pos = 0;
            return;
        }
        // the last chunk: trailing headers (if any), then an empty line
        done = true;
        chunk = data;
        pos = 0;
        if (!trailer) {
            line(); // the empty line after the final chunk (some clients omit it at end of stream)
            return;
        }
        StringBuilder canonicalTrailers = new StringBuilder();
        String trailerSignature = null;
        for (String t = line(); !t.isEmpty(); t = line()) {
            int colon = t.indexOf(':');
            if (colon < 0) {
                throw bad("a trailing header is not name:value");
            }
            String name = t.substring(0, colon).trim().toLowerCase();
            String value = t.substring(colon + 1).trim();
            if (name.equals("x-amz-trailer-signature")) {
                trailerSignature = value;
            } else {
                trailers.put(name, value);
                canonicalTrailers.append(name).append(':').append(value).append('\n');
            }
        }
        if (signed) {
            if (trailerSignature == null) {
                throw bad("the trailer signature is missing");
            }
            String expected = SigV4.signature(principal.signingKey(), SigV4.trailerStringToSign(principal.amzDate(),
                    principal.scope(), previousSignature,
                    SigV4.sha256Hex(canonicalTrailers.toString().getBytes(StandardCharsets.UTF_8))));
            if (!SigV4.same(expected, trailerSignature)) {
                throw S3Exception.signatureMismatch();
            }
        }
        for (Map.Entry<String, Checksum> c : checksums.entrySet()) {
            String given = trailers.get(c.getKey());
            if (given == null) {
                throw bad("the trailer " + c.getKey() + " was announced but not sent");
            }
            long v = c.getValue().getValue();
            String actual = Base64.getEncoder().encodeToString(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16),
                    (byte) (v >>> 8), (byte) v});
            if (!actual.equals(given)) {
                throw new S3Exception(400, "BadDigest", "The " + c.getKey().substring("x-amz-checksum-".length())
                        + " you specified did not match the calculated checksum.");
            }
        }
    }

    private void expectCrlf() throws IOException {
        if (in.read() != '\r' || in.read() != '\n') {
            throw bad("a chunk's data must end with CRLF");
        }
    }

    /** One CRLF-terminated line without its CRLF; at end of stream what was read (possibly empty). */
    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return b.toString(StandardCharsets.UTF_8);
            }
            if (c == '\r') {
                int n = in.read();
                if (n == '\n') {
                    return b.toString(StandardCharsets.UTF_8);
                }
                throw bad("a bare CR in the chunk framing");
            }
            if (b.size() >= MAX_LINE) {
                throw bad("a chunk header line is too long");
            }
            b.write(c);
        }
    }

    private static S3Exception bad(String why) {
        return new S3Exception(400, "InvalidRequest", "malformed aws-chunked body: " + why);
    }
}
