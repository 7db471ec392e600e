package io.celluler.consensus.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.celluler.core.hash.Sha256;

/**
 * The validator set: cell ids with stakes (from the genesis). A quorum is more than two thirds of the total
 * stake, so with validators of total stake 3f+1 any two quorums share more than f of honest stake. Leaders are
 * drawn by stake: round r's leader is the validator whose stake interval holds {@code H(chain, r) mod total}, the
 * same on every validator (it depends on nothing but the genesis and the round).
 */
public final class Validators {

    private final String chainId;
    private final Map<String, Long> stakes;
    private final List<String> order;
    private final long total;
    private final String setHash;

    /** A set named by the hash of its ids and stakes ({@link #hashOf}). */
    public Validators(String chainId, Map<String, Long> stakes) {
        this(chainId, stakes, hashOf(stakes, Map.of()));
    }

    /**
     * @param setHash what block headers name the set by: the service hashes the validators' public keys in too
     *                ({@link #hashOf}), so that a proof checked against a trusted set cannot swap a key
     */
    public Validators(String chainId, Map<String, Long> stakes, String setHash) {
        if (stakes.isEmpty()) {
            throw new IllegalArgumentException("a validator set needs validators");
        }
        long sum = 0;
        for (Map.Entry<String, Long> e : stakes.entrySet()) {
            if (e.getValue() <= 0) {
                throw new IllegalArgumentException("validator " + e.getKey() + ": stake must be positive");
            }
            sum = Math.addExact(sum, e.getValue());
        }
        this.chainId = chainId;
        this.order = stakes.keySet().stream().sorted().toList();
        Map<String, Long> sorted = new LinkedHashMap<>();
        order.forEach(id -> sorted.put(id, stakes.get(id)));
        this.stakes = java.util.Collections.unmodifiableMap(sorted);
        this.total = sum;
        this.setHash = setHash;
    }

    /**
     * The canonical hash of a validator set: domain {@code celluler.consensus.v1.ValidatorSet}, then for each
     * validator in cell id order its id, its public key (hex; empty when none is given) and its stake.
     */
    public static String hashOf(Map<String, Long> stakes, Map<String, String> publicKeysHex) {
        Canonical c = Canonical.of("celluler.consensus.v1.ValidatorSet").u32(stakes.size());
        stakes.keySet().stream().sorted().forEach(id -> c.str(id).str(publicKeysHex.getOrDefault(id, "")).u64(stakes.get(id)));
        return Sha256.hexOf(c.bytes());
    }

    public String setHash() {
        return setHash;
    }

    public String chainId() {
        return chainId;
    }

    public boolean contains(String id) {
        return stakes.containsKey(id);
    }

    public long stake(String id) {
        return stakes.getOrDefault(id, 0L);
    }

    public long total() {
        return total;
    }

    /** Stake needed for a quorum: more than 2/3 of the total. */
    public long quorum() {
        return total * 2 / 3 + 1;
    }

    /** Stake that surely includes an honest validator: more than 1/3 of the total. */
    public long honestMinority() {
        return total / 3 + 1;
    }

    public long stakeOf(Collection<String> ids) {
        long s = 0;
        for (String id : ids) {
            s += stake(id);
        }
        return s;
    }

    public List<String> ids() {
        return order;
    }

    public int size() {
        return order.size();
    }

    /** The leader of {@code round}, weighted by stake. */
    public String leader(long round) {
        MessageDigest d = Sha256.newDigest();
        d.update(("leader|" + chainId + "|").getBytes(StandardCharsets.UTF_8));
        d.update(ByteBuffer.allocate(8).putLong(round).array());
        long draw = Math.floorMod(ByteBuffer.wrap(d.digest()).getLong(), total);
        for (String id : order) {
            draw -= stakes.get(id);
            if (draw < 0) {
                return id;
            }
        }
        throw new IllegalStateException("unreachable: the draw is below the total stake");
    }
}
