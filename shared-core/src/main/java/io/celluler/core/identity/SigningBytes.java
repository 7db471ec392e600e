package io.celluler.core.identity;

import java.nio.charset.StandardCharsets;

import com.google.protobuf.MessageLite;

/**
 * The bytes a Celluler signature covers (DESIGN §5 "signed structures define their signing bytes"): the
 * message's full proto name, a zero byte, then the message's encoding with its unsigned fields cleared by the
 * caller. The name separates domains, so a signature over one kind of message can never pass for another.
 */
public final class SigningBytes {

    private SigningBytes() {
    }

    public static byte[] of(String fullMessageName, MessageLite unsignedPart) {
        byte[] domain = (fullMessageName + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] body = unsignedPart.toByteArray();
        byte[] out = new byte[domain.length + body.length];
        System.arraycopy(domain, 0, out, 0, domain.length);
        System.arraycopy(body, 0, out, domain.length, body.length);
        return out;
    }
}
