package io.celluler.core.hash;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** SHA-256 digests and their canonical text form: 64 lowercase hex characters. */
public final class Sha256 {

    public static final int LENGTH_BYTES = 32;
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
    private static final HexFormat HEX_FORMAT = HexFormat.of();

    private Sha256() {
    }

    private static final MessageDigest PROTOTYPE = lookUp();

    /** A fresh digest: a clone of a prototype, as the provider look-up costs more than hashing a small message. */
    public static MessageDigest newDigest() {
        try {
            return (MessageDigest) PROTOTYPE.clone();
        } catch (CloneNotSupportedException e) {
            return lookUp();
        }
    }

    private static MessageDigest lookUp() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    public static String hex(byte[] digest) {
        return HEX_FORMAT.formatHex(digest);
    }

    public static String hexOf(byte[] data) {
        return hex(newDigest().digest(data));
    }

    /** True for the canonical form: exactly 64 lowercase hexadecimal characters. */
    public static boolean isCanonicalHex(String s) {
        return s != null && HEX.matcher(s).matches();
    }
}
