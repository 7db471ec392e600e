package io.celluler.state.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.core.hash.Sha256;
import io.celluler.core.smt.SparseMerkle;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;

/**
 * The replicated state machine: the committed blocks' transactions applied in order, deterministically, to a
 * namespaced key-value state whose root after each height is the root of a {@link SparseMerkleTree}. A transaction
 * applies completely or not at all; one that fails (a bad argument, a compare-and-set mismatch) is recorded with its
 * reason and changes nothing; the same blocks give the same roots on every cell. Values are kept by their hash
 * ({@link ValueStore}), so the value of a key at any kept height is the tree's value hash at that height's root.
 * Pure: no clock, no I/O beyond the stores handed in.
 */
public final class StateMachine {

    /** The payload type of transactions for this state machine; others in a block are not its business. */
    public static final String STATE_TX = "celluler.state.v1.StateTransaction";
    public static final String SNAPSHOTS = "snapshots";
    public static final String VALIDATORS = "validators";
    public static final int MAX_VALUE_BYTES = 64 * 1024;
    public static final int MAX_KEY_BYTES = 1024;
    public static final int MAX_BATCH = 1000;
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9._-]{1,64}");

    /** A transaction of a committed block. */
    public record Tx(String id, String payloadType, byte[] payload) {
    }

    /** One key write ({@code value} null: a delete). */
    public record Write(String namespace, String key, byte[] value) {
    }

    /** What became of one transaction. */
    public record Outcome(String txId, boolean applied, String failure, List<Write> writes) {
    }

    /**
     * What one height did to one key, once per key: its value hash after the block (null: absent), the transaction
     * that wrote it last, and whether the key came into being or went away (for namespace sizes).
     */
    public record KeyChange(String namespace, String key, byte[] valueHash, String txId, boolean created,
            boolean removed) {
    }

    /**
     * One height applied: its root, each state transaction's outcome, every write in order, and per key written
     * its net change (a delete of an absent key is none).
     */
    public record Applied(long height, byte[] root, List<Outcome> outcomes, List<Write> writes,
            List<KeyChange> changes) {
    }

    /** Values by their SHA-256. */
    public interface ValueStore {
        byte[] value(byte[] hash);

        void putValue(byte[] hash, byte[] value);
    }

    /** A value store in memory. */
    public static final class MemoryValues implements ValueStore {
        private final Map<ByteBuffer, byte[]> values = new HashMap<>();

        @Override
        public byte[] value(byte[] hash) {
            return values.get(ByteBuffer.wrap(hash));
        }

        @Override
        public void putValue(byte[] hash, byte[] value) {
            values.putIfAbsent(ByteBuffer.wrap(hash), value);
        }
    }

    private final SparseMerkleTree tree;
    private final ValueStore values;
    private long height;
    private byte[] root;

    /** A state machine at {@code height} with {@code root} (0 and the empty root for a new one). */
    public StateMachine(SparseMerkleTree tree, ValueStore values, long height, byte[] root) {
        this.tree = tree;
        this.values = values;
        this.height = height;
        this.root = root.clone();
    }

    public long height() {
        return height;
    }

    public byte[] root() {
        return root.clone();
    }

    /**
     * Applies the block at {@code blockHeight} (the next height: blocks come in order, each once).
     *
     * @throws IllegalStateException for another height
     */
    public Applied apply(long blockHeight, List<Tx> txs) {
        if (blockHeight != height + 1) {
            throw new IllegalStateException("the next height is " + (height + 1) + ", not " + blockHeight);
        }
        Map<ByteBuffer, Pending> pending = new LinkedHashMap<>();
        List<Outcome> outcomes = new ArrayList<>();
        List<Write> all = new ArrayList<>();
        for (Tx tx : txs) {
            if (!STATE_TX.equals(tx.payloadType())) {
                continue;
            }
            Outcome o = applyOne(tx, pending);
            outcomes.add(o);
            all.addAll(o.writes());
        }
        TreeMap<ByteBuffer, byte[]> updates = new TreeMap<>();
        List<KeyChange> changes = new ArrayList<>();
        pending.forEach((path, p) -> {
            Write w = p.write();
            byte[] before = tree.get(root, path.array());
            byte[] after = null;
            if (w.value() != null) {
                after = SparseMerkle.valueHash(w.value());
                values.putValue(after, w.value());
            }
            updates.put(path, after);
            if (before != null || after != null) {
                changes.add(new KeyChange(w.namespace(), w.key(), after, p.txId(), before == null, after == null));
            }
        });
        root = tree.update(root, updates);
        height = blockHeight;
        return new Applied(height, root.clone(), outcomes, all, changes);
    }

    /** A key's latest write in the block being applied, and the transaction that made it. */
    private record Pending(Write write, String txId) {
    }

    private Outcome applyOne(Tx tx, Map<ByteBuffer, Pending> pending) {
        StateTransaction t;
        try {
            t = StateTransaction.parseFrom(tx.payload());
        } catch (InvalidProtocolBufferException e) {
            return failed(tx, "payload: not a StateTransaction");
        }
        List<Write> writes = new ArrayList<>();
        String problem = switch (t.getOperationCase()) {
            case PUT_VALUE -> mutation(t.getPutValue(), false, writes);
            case DELETE_VALUE -> mutation(t.getDeleteValue(), true, writes);
            case BATCH -> batch(t.getBatch().getMutationsList(), writes);
            case COMPARE_AND_SET -> compareAndSet(t.getCompareAndSet(), pending, writes);
            case REGISTER_SNAPSHOT -> registerSnapshot(t.getRegisterSnapshot(), writes);
            case SET_VALIDATOR_STAKE -> setStake(t.getSetValidatorStake(), writes);
            case OPERATION_NOT_SET -> "operation: not set";
        };
        if (problem != null) {
            return failed(tx, problem);
        }
        for (Write w : writes) {
            pending.put(ByteBuffer.wrap(SparseMerkle.path(w.namespace(), w.key().getBytes(StandardCharsets.UTF_8))),
                    new Pending(w, tx.id()));
        }
        return new Outcome(tx.id(), true, "", List.copyOf(writes));
    }

    private static Outcome failed(Tx tx, String why) {
        return new Outcome(tx.id(), false, why, List.of());
    }

    /** Checks a user write (not into a reserved namespace); adds it; answers a problem or null. */
    private static String mutation(Mutation m, boolean delete, List<Write> writes) {
        String p = userKey(m.getNamespace(), m.getKey());
        if (p != null) {
            return p;
        }
        if (!delete && m.getValue().size() > MAX_VALUE_BYTES) {
            return "value: at most " + MAX_VALUE_BYTES + " bytes, not " + m.getValue().size();
        }
        writes.add(new Write(m.getNamespace(), m.getKey(), delete ? null : m.getValue().toByteArray()));
        return null;
    }

    private static String batch(List<Mutation> ms, List<Write> writes) {
        if (ms.isEmpty() || ms.size() > MAX_BATCH) {
            return "batch: 1 to " + MAX_BATCH + " mutations, not " + ms.size();
        }
        for (int i = 0; i < ms.size(); i++) {
            String p = mutation(ms.get(i), ms.get(i).getDeleteKey(), writes);
            if (p != null) {
                return "batch.mutations[" + i + "]." + p;
            }
        }
        return null;
    }

    private String compareAndSet(StateTransaction.CompareAndSet c, Map<ByteBuffer, Pending> pending,
            List<Write> writes) {
        String p = userKey(c.getNamespace(), c.getKey());
        if (p != null) {
            return p;
        }
        if (c.getNewValue().size() > MAX_VALUE_BYTES) {
            return "new_value: at most " + MAX_VALUE_BYTES + " bytes";
        }
        String expected = c.getExpectedValueSha256();
        if (!expected.isEmpty() && !Sha256.isCanonicalHex(expected)) {
            return "expected_value_sha256: 64 lowercase hex digits or empty";
        }
        byte[] current = currentValueHash(c.getNamespace(), c.getKey(), pending);
        String actual = current == null ? "" : Sha256.hex(current);
        if (!actual.equals(expected)) {
            return "compare_and_set: the current value's SHA-256 is " + (actual.isEmpty() ? "none (no key)" : actual)
                    + ", not the expected " + (expected.isEmpty() ? "none" : expected);
        }
        writes.add(new Write(c.getNamespace(), c.getKey(), c.getNewValue().toByteArray()));
        return null;
    }

    private static String registerSnapshot(StateTransaction.RegisterSnapshot r, List<Write> writes) {
        if (r.getSnapshotId().isEmpty() || r.getSnapshotId().length() > 128) {
            return "register_snapshot.snapshot_id: 1 to 128 characters";
        }
        if (!Sha256.isCanonicalHex(r.getContentRoot())) {
            return "register_snapshot.content_root: 64 lowercase hex digits";
        }
        writes.add(new Write(SNAPSHOTS, r.getSnapshotId(), r.toByteArray()));
        return null;
    }

    private static String setStake(StateTransaction.SetValidatorStake s, List<Write> writes) {
        if (s.getCellId().isEmpty() || s.getCellId().length() > 128) {
            return "set_validator_stake.cell_id: 1 to 128 characters";
        }
        if (s.getStake() > 0 && s.getPublicKey().size() != 32) {
            return "set_validator_stake.public_key: 32 bytes (raw Ed25519)";
        }
        writes.add(new Write(VALIDATORS, s.getCellId(), s.getStake() == 0 ? null : s.toByteArray()));
        return null;
    }

    private static String userKey(String namespace, String key) {
        if (!NAMESPACE.matcher(namespace).matches()) {
            return "namespace: [a-z0-9._-]{1,64}, not '" + namespace + "'";
        }
        if (namespace.equals(SNAPSHOTS) || namespace.equals(VALIDATORS)) {
            return "namespace: '" + namespace + "' is written only by its own operation";
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > MAX_KEY_BYTES) {
            return "key: 1 to " + MAX_KEY_BYTES + " bytes, not " + bytes;
        }
        return null;
    }

    /** The value hash of a key as the block so far left it. */
    private byte[] currentValueHash(String namespace, String key, Map<ByteBuffer, Pending> pending) {
        byte[] path = SparseMerkle.path(namespace, key.getBytes(StandardCharsets.UTF_8));
        Pending p = pending.get(ByteBuffer.wrap(path));
        if (p != null) {
            return p.write().value() == null ? null : SparseMerkle.valueHash(p.write().value());
        }
        return tree.get(root, path);
    }

    /** The value of a key in the state of {@code atRoot} (a kept height's root), null when absent. */
    public byte[] value(byte[] atRoot, String namespace, String key) {
        byte[] h = tree.get(atRoot, SparseMerkle.path(namespace, key.getBytes(StandardCharsets.UTF_8)));
        return h == null ? null : values.value(h);
    }

    /** The proof of a key's value (or absence) in the state of {@code atRoot}. */
    public SparseMerkle.Proof prove(byte[] atRoot, String namespace, String key) {
        return tree.prove(atRoot, SparseMerkle.path(namespace, key.getBytes(StandardCharsets.UTF_8)));
    }
}
