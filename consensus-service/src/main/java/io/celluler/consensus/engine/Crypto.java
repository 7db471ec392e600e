package io.celluler.consensus.engine;

/**
 * Signatures for the engine, injected: the service uses the cell's Ed25519 key and the validators' public keys,
 * the simulator a cheap keyed hash. The engine signs votes, timeouts and proposals, and verifies what it
 * receives before it counts it.
 */
public interface Crypto {

    byte[] sign(byte[] message);

    /** True when {@code signature} is {@code validator}'s over {@code message}; false for anyone unknown. */
    boolean verify(String validator, byte[] message, byte[] signature);
}
