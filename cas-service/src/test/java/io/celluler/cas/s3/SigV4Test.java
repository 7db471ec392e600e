package io.celluler.cas.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class SigV4Test {

    /** The S3 API reference's worked example "GET Object" (Signature Version 4, header authentication). */
    @Test
    void theDocumentedGetObjectExampleSignsAsPublished() {
        Map<String, List<String>> headers = Map.of("host", List.of("examplebucket.s3.amazonaws.com"),
                "range", List.of("bytes=0-9"), "x-amz-content-sha256", List.of(SigV4.EMPTY_SHA256),
                "x-amz-date", List.of("20130524T000000Z"));
        String canonical = SigV4.canonicalRequest("GET", "/test.txt", List.of(), headers,
                List.of("host", "range", "x-amz-content-sha256", "x-amz-date"), SigV4.EMPTY_SHA256);
        String scope = SigV4.scope("20130524", "us-east-1", "s3");
        byte[] key = SigV4.signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");

        assertThat(SigV4.signature(key, SigV4.stringToSign("20130524T000000Z", scope, canonical)))
                .isEqualTo("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }

    @Test
    void pathsAndQueriesAreEncodedTheAwsWay() {
        assertThat(SigV4.canonicalUri("/bucket/a%20b/%C3%BC+x~y")).isEqualTo("/bucket/a%20b/%C3%BC%2Bx~y");
        assertThat(SigV4.canonicalQuery(List.of(Map.entry("prefix", "a b"), Map.entry("list-type", "2"),
                Map.entry("acl", "")))).isEqualTo("acl=&list-type=2&prefix=a%20b");
        assertThat(SigV4.percentDecode("a%2Fb+c%zz")).isEqualTo("a/b+c%zz");
    }
}
