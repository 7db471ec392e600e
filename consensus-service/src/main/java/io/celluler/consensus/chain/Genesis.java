package io.celluler.consensus.chain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.celluler.consensus.engine.Canonical;
import io.celluler.consensus.engine.Validators;
import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.Ed25519;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The genesis of a chain: its name, its start time and its validators with their stakes. Every validator of a
 * network starts from the same file; the chain id is the hash of its canonical bytes, so validators of
 * different geneses never accept each other's messages.
 *
 * <pre>{@code
 * {
 *   "chain_name": "celluler-local",
 *   "genesis_time": "2026-11-21T10:00:00Z",
 *   "validators": [
 *     {"cell_id": "<64 hex: the cell's network id>", "public_key": "<64 hex: its validator key>", "stake": 100}
 *   ]
 * }
 * }</pre>
 *
 * @param chainName   a name for people
 * @param genesisTime when the chain started (part of the id: two chains with the same validators differ)
 * @param validators  at least one; cell ids unique
 */
public record Genesis(String chainName, Instant genesisTime, List<GenesisValidator> validators) {

    /**
     * @param cellId    the validator's cell (its network-service identity): where its messages come from
     * @param publicKey hex Ed25519 public key that signs its votes (the consensus-service's validator key)
     * @param stake     voting power, positive
     */
    public record GenesisValidator(String cellId, String publicKey, long stake) {
    }

    private static final JsonMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    public Genesis {
        if (chainName == null || chainName.isBlank()) {
            throw new IllegalArgumentException("genesis: chain_name is missing");
        }
        if (genesisTime == null) {
            throw new IllegalArgumentException("genesis: genesis_time is missing");
        }
        if (validators == null || validators.isEmpty()) {
            throw new IllegalArgumentException("genesis: validators is empty");
        }
        Map<String, Boolean> seen = new LinkedHashMap<>();
        for (int i = 0; i < validators.size(); i++) {
            GenesisValidator v = validators.get(i);
            String where = "genesis: validators[" + i + "]";
            if (v == null || !Sha256.isCanonicalHex(v.cellId())) {
                throw new IllegalArgumentException(where + ".cell_id must be 64 lowercase hex characters");
            }
            if (v.publicKey() == null || !v.publicKey().matches("[0-9a-f]{" + 2 * Ed25519.KEY_BYTES + "}")) {
                throw new IllegalArgumentException(where + ".public_key must be a 32-byte Ed25519 key in lowercase hex");
            }
            if (v.stake() <= 0) {
                throw new IllegalArgumentException(where + ".stake must be positive");
            }
            if (seen.put(v.cellId(), Boolean.TRUE) != null) {
                throw new IllegalArgumentException(where + ".cell_id " + v.cellId() + " is listed twice");
            }
        }
        validators = List.copyOf(validators);
    }

    public static Genesis read(Path file) throws IOException {
        try {
            return JSON.readValue(file.toFile(), Genesis.class);
        } catch (JacksonException e) {
            throw new IOException(file + " is not a genesis file: " + e.getOriginalMessage(), e);
        }
    }

    /** Writes the file atomically (temp file, then rename). */
    public void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "genesis", ".tmp");
        try {
            Files.writeString(tmp, JSON.writeValueAsString(this));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public Map<String, Long> stakes() {
        Map<String, Long> stakes = new LinkedHashMap<>();
        validators.forEach(v -> stakes.put(v.cellId(), v.stake()));
        return stakes;
    }

    public Map<String, byte[]> publicKeys() {
        Map<String, byte[]> keys = new LinkedHashMap<>();
        validators.forEach(v -> keys.put(v.cellId(), HexFormat.of().parseHex(v.publicKey())));
        return keys;
    }

    /** Hash of the validator set (see {@link Validators#hashOf}): what block headers name. */
    public String validatorSetHash() {
        Map<String, String> keys = new LinkedHashMap<>();
        validators.forEach(v -> keys.put(v.cellId(), v.publicKey()));
        return Validators.hashOf(stakes(), keys);
    }

    /**
     * The chain id: hex SHA-256 of domain {@code celluler.consensus.v1.Genesis}, the chain name, the genesis time
     * in milliseconds and the validator set hash (canonical bytes as in block headers).
     */
    public String chainId() {
        return Sha256.hexOf(Canonical.of("celluler.consensus.v1.Genesis").str(chainName)
                .u64(genesisTime.toEpochMilli()).str(validatorSetHash()).bytes());
    }

    public Validators toValidators() {
        return new Validators(chainId(), stakes(), validatorSetHash());
    }

    public GenesisValidator validator(String cellId) {
        return validators.stream().filter(v -> v.cellId().equals(cellId)).findFirst().orElse(null);
    }

    /** A genesis of these validators, each with stake 100. */
    public static Genesis equalStakes(String chainName, Instant time, Map<String, byte[]> publicKeysByCell) {
        List<GenesisValidator> vs = new ArrayList<>();
        publicKeysByCell.forEach((cell, key) -> vs.add(new GenesisValidator(cell, HexFormat.of().formatHex(key), 100)));
        return new Genesis(chainName, time.truncatedTo(java.time.temporal.ChronoUnit.MILLIS), vs);
    }
}
