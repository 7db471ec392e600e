package io.celluler.cas.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;

/** aws-chunked bodies built with the signing rules, then read back, and then tampered with. */
class AwsChunkedDecoderTest {

    static final String DATE = "20261121T120000Z";
    static final String SCOPE = SigV4.scope("20261121", "us-east-1", "s3");
    static final byte[] KEY = SigV4.signingKey("secret", "20261121", "us-east-1", "s3");
    static final String SEED = "0".repeat(64);

    static S3Auth.Principal principal(String mode) {
        return new S3Auth.Principal(new S3Auth.Key("k", "secret", "t"), mode, KEY, DATE, SCOPE, SEED);
    }

    /** A signed body of {@code chunks}, with a CRC32 trailer when {@code trailer}. */
    static byte[] body(List<byte[]> chunks, boolean trailer, boolean signed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String previous = SEED;
        CRC32 crc = new CRC32();
        for (byte[] c : chunks) {
            String header = Integer.toHexString(c.length);
            if (signed) {
                previous = SigV4.signature(KEY, SigV4.chunkStringToSign(DATE, SCOPE, previous, SigV4.sha256Hex(c)));
                header += ";chunk-signature=" + previous;
            }
            out.writeBytes((header + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(c);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            crc.update(c);
        }
        String last = "0";
        if (signed) {
            previous = SigV4.signature(KEY, SigV4.chunkStringToSign(DATE, SCOPE, previous, SigV4.EMPTY_SHA256));
            last += ";chunk-signature=" + previous;
        }
        out.writeBytes((last + "\r\n").getBytes(StandardCharsets.US_ASCII));
        if (trailer) {
            long v = crc.getValue();
            String t = "x-amz-checksum-crc32:" + Base64.getEncoder().encodeToString(new byte[] {(byte) (v >>> 24),
                    (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
            out.writeBytes((t + "\r\n").getBytes(StandardCharsets.US_ASCII));
            if (signed) {
                String sig = SigV4.signature(KEY, SigV4.trailerStringToSign(DATE, SCOPE, previous,
                        SigV4.sha256Hex((t + "\n").getBytes(StandardCharsets.US_ASCII))));
                out.writeBytes(("x-amz-trailer-signature:" + sig + "\r\n").getBytes(StandardCharsets.US_ASCII));
            }
        }
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    static byte[] decode(byte[] body, String mode, String trailer) throws Exception {
        return new AwsChunkedDecoder(new ByteArrayInputStream(body), principal(mode), trailer).readAllBytes();
    }

    List<byte[]> chunks = List.of("first chunk ".repeat(1000).getBytes(), "second".getBytes());

    @Test
    void signedChunksAndTrailersDecodeToThePayload() throws Exception {
        byte[] expected = "first chunk ".repeat(1000).concat("second").getBytes();
        assertThat(decode(body(chunks, false, true), SigV4.STREAMING_PAYLOAD, null)).isEqualTo(expected);
        assertThat(decode(body(chunks, true, true), SigV4.STREAMING_PAYLOAD_TRAILER, "x-amz-checksum-crc32")).isEqualTo(expected);
        assertThat(decode(body(chunks, true, false), SigV4.STREAMING_UNSIGNED_TRAILER, "x-amz-checksum-crc32")).isEqualTo(expected);
    }

    @Test
    void aChangedByteFailsTheChunkSignature() {
        byte[] b = body(chunks, false, true);
        int at = new String(b, StandardCharsets.ISO_8859_1).indexOf("first chunk") + 3;
        b[at] ^= 1;
        assertThatThrownBy(() -> decode(b, SigV4.STREAMING_PAYLOAD, null))
                .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.code()).isEqualTo("SignatureDoesNotMatch"));
    }

    @Test
    void aChangedByteOfAnUnsignedBodyFailsItsChecksum() {
        byte[] b = body(chunks, true, false);
        int at = new String(b, StandardCharsets.ISO_8859_1).indexOf("second");
        b[at] ^= 1;
        assertThatThrownBy(() -> decode(b, SigV4.STREAMING_UNSIGNED_TRAILER, "x-amz-checksum-crc32"))
                .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.code()).isEqualTo("BadDigest"));
    }

    @Test
    void malformedFramingIsAClearError() {
        assertThatThrownBy(() -> decode("zz;chunk-signature=00\r\n".getBytes(), SigV4.STREAMING_PAYLOAD, null))
                .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.getMessage()).contains("not hexadecimal"));
        assertThatThrownBy(() -> decode("10\r\nshort".getBytes(), SigV4.STREAMING_UNSIGNED_TRAILER, null))
                .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.code()).isEqualTo("IncompleteBody"));
        assertThatThrownBy(() -> decode("2000000\r\n".getBytes(), SigV4.STREAMING_UNSIGNED_TRAILER, null))
                .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.getMessage()).contains("larger than"));
    }
}
