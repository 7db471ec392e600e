package io.celluler.consensus.chain;

import java.util.Map;

import io.celluler.consensus.engine.Crypto;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;

/** The engine's signatures: this validator's Ed25519 key signs; the genesis's keys verify. */
public final class Ed25519Crypto implements Crypto {

    private final CellIdentity key;
    private final Map<String, byte[]> publicKeys;

    public Ed25519Crypto(CellIdentity key, Map<String, byte[]> publicKeysByValidator) {
        this.key = key;
        this.publicKeys = Map.copyOf(publicKeysByValidator);
    }

    @Override
    public byte[] sign(byte[] message) {
        return key.sign(message);
    }

    @Override
    public boolean verify(String validator, byte[] message, byte[] signature) {
        byte[] key = publicKeys.get(validator);
        return key != null && Ed25519.verify(key, message, signature);
    }
}
