package io.celluler.consensus.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

import io.celluler.core.hash.Sha256;

/**
 * The simulator's signatures: SHA-256 keyed by a per-validator secret derived from the run's seed. Unforgeable
 * within the simulation (a Byzantine validator knows only its own secret) and ~100× cheaper than Ed25519, so that
 * thousands of seeds run in CI.
 */
final class FakeCrypto implements Crypto {

    /** Every validator's secret, known to the simulator (which verifies for everyone). */
    static final class Keys {
        private final long seed;

        Keys(long seed) {
            this.seed = seed;
        }

        FakeCrypto of(String id) {
            return new FakeCrypto(this, id);
        }

        byte[] mac(String id, byte[] message) {
            MessageDigest d = Sha256.newDigest();
            d.update(("secret|" + seed + "|" + id + "|").getBytes(StandardCharsets.UTF_8));
            d.update(message);
            return d.digest();
        }
    }

    private final Keys keys;
    private final String self;

    private FakeCrypto(Keys keys, String self) {
        this.keys = keys;
        this.self = self;
    }

    @Override
    public byte[] sign(byte[] message) {
        return keys.mac(self, message);
    }

    @Override
    public boolean verify(String validator, byte[] message, byte[] signature) {
        return signature != null && Arrays.equals(keys.mac(validator, message), signature);
    }
}
