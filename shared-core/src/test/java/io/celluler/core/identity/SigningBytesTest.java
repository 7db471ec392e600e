package io.celluler.core.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.celluler.proto.cas.v1.StatRequest;
import org.junit.jupiter.api.Test;

class SigningBytesTest {

    @Test
    void theNameAndAZeroByteComeBeforeTheEncoding() {
        StatRequest m = StatRequest.newBuilder().setRoot("ab").build();

        byte[] bytes = SigningBytes.of("celluler.cas.v1.StatRequest", m);

        byte[] prefix = "celluler.cas.v1.StatRequest\0".getBytes();
        assertThat(bytes).startsWith(prefix);
        assertThat(java.util.Arrays.copyOfRange(bytes, prefix.length, bytes.length)).isEqualTo(m.toByteArray());
        // another domain, other bytes: a signature cannot move between message kinds
        assertThat(SigningBytes.of("celluler.p2p.v1.Hello", m)).isNotEqualTo(bytes);
    }
}
