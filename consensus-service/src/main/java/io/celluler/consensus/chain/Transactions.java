package io.celluler.consensus.chain;

import java.nio.charset.StandardCharsets;

import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.consensus.engine.Tx;
import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.consensus.v1.Transaction;

/**
 * Transactions as the API defines them (celluler/consensus/v1/consensus.proto, {@code Transaction}): their checks,
 * canonical bytes, id and signature. What travels in blocks is the canonical encoding; the id is recomputed by
 * whoever reads it.
 */
public final class Transactions {

    public static final String DOMAIN = "celluler.consensus.v1.Transaction";
    public static final int MAX_PAYLOAD_BYTES = 64 * 1024;
    public static final int MAX_PAYLOAD_TYPE_CHARS = 256;
    private static final byte[] DOMAIN_BYTES = (DOMAIN + "\0").getBytes(StandardCharsets.US_ASCII);

    private Transactions() {
    }

    /** A transaction that fails a check, naming the field (for INVALID_ARGUMENT). */
    public static final class InvalidTransactionException extends Exception {
        private final String field;

        public InvalidTransactionException(String field, String message) {
            super(message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /**
     * Checks a submitted transaction's form (not its signature: {@link #signatureValid}) and returns it as the engine
     * orders it.
     */
    public static Tx check(Transaction t) throws InvalidTransactionException {
        if (!t.getUnknownFields().asMap().isEmpty()) {
            throw new InvalidTransactionException("transaction", "has fields this server does not know");
        }
        String type = t.getPayloadType();
        if (type.isEmpty()) {
            throw new InvalidTransactionException("transaction.payload_type", "is required (e.g. celluler.state.v1.StateTransaction)");
        }
        if (type.length() > MAX_PAYLOAD_TYPE_CHARS || !type.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*")) {
            throw new InvalidTransactionException("transaction.payload_type",
                    "must be a full protobuf message name (letters, digits, '_' and '.'), at most " + MAX_PAYLOAD_TYPE_CHARS + " characters");
        }
        if (t.getPayload().size() > MAX_PAYLOAD_BYTES) {
            throw new InvalidTransactionException("transaction.payload",
                    "is " + t.getPayload().size() + " bytes; at most " + MAX_PAYLOAD_BYTES + " are allowed");
        }
        int keyLength = t.getSenderPublicKey().size();
        if (keyLength != 0 && keyLength != Ed25519.KEY_BYTES) {
            throw new InvalidTransactionException("transaction.sender_public_key", "must be a raw 32-byte Ed25519 key");
        }
        int sigLength = t.getSignature().size();
        if (sigLength != 0 && sigLength != Ed25519.SIGNATURE_BYTES) {
            throw new InvalidTransactionException("transaction.signature", "must be a 64-byte Ed25519 signature");
        }
        if (sigLength != 0 && keyLength == 0) {
            throw new InvalidTransactionException("transaction.sender_public_key", "is required when a signature is given");
        }
        byte[] data = t.toByteArray();
        return new Tx(idOf(data), data, t.getValidUntilHeight());
    }

    /** The id: hex SHA-256 of the domain, a zero byte and the canonical encoding. */
    public static String idOf(byte[] canonical) {
        var d = Sha256.newDigest();
        d.update(DOMAIN_BYTES);
        d.update(canonical);
        return Sha256.hex(d.digest());
    }

    public static byte[] signingBytes(Transaction t) {
        byte[] body = t.toBuilder().clearSignature().build().toByteArray();
        byte[] out = new byte[DOMAIN_BYTES.length + body.length];
        System.arraycopy(DOMAIN_BYTES, 0, out, 0, DOMAIN_BYTES.length);
        System.arraycopy(body, 0, out, DOMAIN_BYTES.length, body.length);
        return out;
    }

    /** True for an unsigned transaction, or one whose signature verifies. */
    public static boolean signatureValid(Transaction t) {
        if (t.getSignature().isEmpty()) {
            return true;
        }
        return Ed25519.verify(t.getSenderPublicKey().toByteArray(), signingBytes(t), t.getSignature().toByteArray());
    }

    /** Signs {@code t} with a client key (for clients and benchmarks). */
    public static Transaction sign(Transaction t, Ed25519.SigningKey key, byte[] publicKey) {
        Transaction withKey = t.toBuilder().setSenderPublicKey(com.google.protobuf.ByteString.copyFrom(publicKey))
                .clearSignature().build();
        byte[] sig = Ed25519.sign(key, signingBytes(withKey));
        return withKey.toBuilder().setSignature(com.google.protobuf.ByteString.copyFrom(sig)).build();
    }

    /** A transaction read from another validator (a block or a gossip batch): its id recomputed; null if unreadable. */
    public static Tx fromWire(byte[] data) {
        try {
            Transaction t = Transaction.parseFrom(data);
            return new Tx(idOf(data), data, t.getValidUntilHeight());
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    public static Transaction parse(byte[] data) {
        try {
            return Transaction.parseFrom(data);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a stored transaction does not parse", e);
        }
    }
}
