package io.celluler.core.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

class Ed25519Test {

    private static final HexFormat HEX = HexFormat.of();

    /** RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte). */
    @Test
    void rfc8032Vectors() {
        byte[] seed1 = HEX.parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        assertThat(HEX.formatHex(Ed25519.publicKey(seed1)))
                .isEqualTo("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        assertThat(HEX.formatHex(Ed25519.sign(seed1, new byte[0]))).isEqualTo(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");

        byte[] seed2 = HEX.parseHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
        byte[] sig2 = Ed25519.sign(seed2, HEX.parseHex("72"));
        assertThat(HEX.formatHex(sig2)).isEqualTo(
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        assertThat(Ed25519.verify(Ed25519.publicKey(seed2), HEX.parseHex("72"), sig2)).isTrue();
    }

    @Test
    void verificationFailsForAnyChangeAndNeverThrows() {
        byte[] seed = Ed25519.newPrivateSeed(new SecureRandom());
        byte[] pub = Ed25519.publicKey(seed);
        byte[] msg = "hello cell".getBytes();
        byte[] sig = Ed25519.sign(seed, msg);

        assertThat(Ed25519.verify(pub, msg, sig)).isTrue();
        byte[] otherMsg = msg.clone();
        otherMsg[0] ^= 1;
        assertThat(Ed25519.verify(pub, otherMsg, sig)).isFalse();
        byte[] otherSig = sig.clone();
        otherSig[10] ^= 1;
        assertThat(Ed25519.verify(pub, msg, otherSig)).isFalse();
        assertThat(Ed25519.verify(Ed25519.publicKey(Ed25519.newPrivateSeed(new SecureRandom())), msg, sig)).isFalse();
        assertThat(Ed25519.verify(new byte[5], msg, sig)).isFalse();
        assertThat(Ed25519.verify(pub, msg, new byte[3])).isFalse();
        assertThat(Ed25519.verify(null, msg, sig)).isFalse();
        byte[] notAPoint = new byte[32];
        java.util.Arrays.fill(notAPoint, (byte) 0xff);
        assertThat(Ed25519.verify(notAPoint, msg, sig)).isFalse();
    }
}
