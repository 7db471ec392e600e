package io.celluler.core.hash;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Sha256Test {

    @Test
    void knownVectors() {
        // FIPS 180-2 appendix B.1 and the empty string
        assertThat(Sha256.hexOf("abc".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(Sha256.hexOf(new byte[0]))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    @Test
    void canonicalHexIsExactlySixtyFourLowercaseHexCharacters() {
        assertThat(Sha256.isCanonicalHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).isTrue();
        assertThat(Sha256.isCanonicalHex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")).isFalse();
        assertThat(Sha256.isCanonicalHex("e3b0")).isFalse();
        assertThat(Sha256.isCanonicalHex("../../etc/passwd")).isFalse();
        assertThat(Sha256.isCanonicalHex(null)).isFalse();
    }
}
