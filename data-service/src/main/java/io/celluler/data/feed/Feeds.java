package io.celluler.data.feed;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.Ed25519;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.tree.FlatTree;
import io.celluler.data.tree.Proofs;
import io.celluler.data.tree.SignedRoots;
import io.celluler.data.tree.TreeHash;
import io.celluler.data.tree.TreeHash.Node;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Feeds this cell owns: created with a fresh Ed25519 key pair (the public key names the feed), appended to one
 * entry or one atomic batch at a time, each append signed and durable (one transaction) before it is answered;
 * entries, tree nodes, signed roots and proofs read back. Every argument is checked first: a bad one gets
 * INVALID_ARGUMENT, RESOURCE_EXHAUSTED or OUT_OF_RANGE naming it, and nothing is written.
 */
@Service
public class Feeds {

    public static final int MAX_ENTRY_BYTES = 1 << 20;
    public static final int MAX_BATCH_ENTRIES = 1024;
    public static final int MAX_BATCH_BYTES = 16 << 20;
    public static final Pattern NAME = Pattern.compile("[a-z0-9._-]{1,128}");
    static final int MAX_LABELS = 64;
    public static final String LOG = "LOG";
    public static final String KEY_VALUE = "KEY_VALUE";
    private static final HexFormat HEX = HexFormat.of();

    private final FeedStore store;
    private final TransactionTemplate tx;
    private final FeedEvents events;
    private final SecureRandom random = new SecureRandom();
    private final Clock clock = Clock.systemUTC();
    /** Prepared signing keys of owned feeds (deriving one costs as much as a signature). */
    private final Map<String, Ed25519.SigningKey> keys = new ConcurrentHashMap<>();

    /** What an append answers. */
    public record Appended(long firstIndex, long length, Signed signed) {
    }

    public Feeds(FeedStore store, TransactionTemplate tx, FeedEvents events) {
        this.store = store;
        this.tx = tx;
        this.events = events;
    }

    // ---- feeds ----------------------------------------------------------------------------------------------------

    public FeedRow create(String name, String type, Map<String, String> labels) {
        if (!NAME.matcher(name).matches()) {
            throw GrpcErrors.invalidArgument("name", "must match [a-z0-9._-]{1,128}, not '" + name + "'");
        }
        if (Sha256.isCanonicalHex(name)) {
            throw GrpcErrors.invalidArgument("name", "64 hex characters are reserved (replicas are named by their feed key)");
        }
        if (labels.size() > MAX_LABELS) {
            throw GrpcErrors.invalidArgument("labels", "at most " + MAX_LABELS + " labels");
        }
        labels.forEach((k, v) -> {
            if (k.isEmpty() || k.length() > 63 || v.length() > 256) {
                throw GrpcErrors.invalidArgument("labels", "keys of 1 to 63 characters, values of at most 256 ('" + k + "')");
            }
        });
        byte[] seed = Ed25519.newPrivateSeed(random);
        byte[] publicKey = Ed25519.publicKey(seed);
        String key = HEX.formatHex(publicKey);
        FeedRow row = new FeedRow(key, name, type, seed, 0, 0, labels, clock.instant(), null);
        byte[] emptyRoot = TreeHash.rootHash(List.of());
        Signed empty = new Signed(0, 0, emptyRoot, SignedRoots.sign(signingKey(key, seed), publicKey, 0, 0, emptyRoot));
        try {
            tx.executeWithoutResult(s -> {
                if (store.nameTaken(name)) {
                    throw Status.ALREADY_EXISTS.withDescription("a feed named '" + name + "' exists on this cell").asRuntimeException();
                }
                store.insertFeed(row, empty);
            });
        } catch (org.springframework.dao.DuplicateKeyException raced) {
            throw Status.ALREADY_EXISTS.withDescription("a feed named '" + name + "' exists on this cell").asRuntimeException();
        }
        return store.feed(key).orElseThrow();
    }

    public FeedRow feed(String key) {
        String k = checkKey(key);
        return store.feed(k).orElseThrow(() -> GrpcErrors.notFound("no feed " + k + " on this cell"));
    }

    public List<FeedRow> list(String afterKey, boolean ownedOnly, int limit) {
        return store.feeds(afterKey, ownedOnly, limit);
    }

    public Signed currentRoot(FeedRow f) {
        return signedAt(f, f.length());
    }

    // ---- append ---------------------------------------------------------------------------------------------------

    public Appended append(String key, List<byte[]> entries) {
        String k = checkKey(key);
        if (entries.isEmpty()) {
            throw GrpcErrors.invalidArgument("entries", "at least one entry");
        }
        if (entries.size() > MAX_BATCH_ENTRIES) {
            throw GrpcErrors.limitExceeded("entries", "at most " + MAX_BATCH_ENTRIES + " entries a batch, not " + entries.size());
        }
        long total = 0;
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).length > MAX_ENTRY_BYTES) {
                throw GrpcErrors.limitExceeded("entries[" + i + "]", "an entry is at most " + MAX_ENTRY_BYTES + " bytes, not "
                        + entries.get(i).length);
            }
            total += entries.get(i).length;
        }
        if (total > MAX_BATCH_BYTES) {
            throw GrpcErrors.limitExceeded("entries", "a batch is at most " + MAX_BATCH_BYTES + " bytes, not " + total);
        }
        Appended a = tx.execute(s -> appendLocked(lockOwned(k, LOG), entries));
        events.changed(k);
        return a;
    }

    /** Inside a transaction: the feed's row, locked, of a feed this cell owns and of {@code type}. */
    private FeedRow lockOwned(String key, String type) {
        FeedRow f = store.lock(key).orElseThrow(() -> GrpcErrors.notFound("no feed " + key + " on this cell"));
        if (!f.owned()) {
            throw Status.FAILED_PRECONDITION.withDescription("feed " + key + " is owned by another cell: only its owner writes to it")
                    .asRuntimeException();
        }
        requireType(f, type);
        return f;
    }

    private static void requireType(FeedRow f, String type) {
        if (!type.equals(f.type())) {
            throw Status.FAILED_PRECONDITION.withDescription(LOG.equals(type)
                    ? "feed " + f.key() + " is a key-value feed: write it with PutValue"
                    : "feed " + f.key() + " is a log feed: the key-value view needs a feed created with FEED_TYPE_KEY_VALUE")
                    .asRuntimeException();
        }
    }

    /** Inside the caller's transaction, with the feed's row locked: the entries appended, signed. */
    private Appended appendLocked(FeedRow f, List<byte[]> entries) {
        String k = f.key();
        List<Node> roots = new ArrayList<>(store.nodes(k, FlatTree.roots(f.length())));
        List<Node> written = new ArrayList<>();
        long length = f.length();
        long bytes = f.byteLength();
        for (byte[] data : entries) {
            Node n = TreeHash.leaf(length++, data);
            bytes += data.length;
            written.add(n);
            while (!roots.isEmpty() && FlatTree.isRight(n.index()) && roots.get(roots.size() - 1).index() == FlatTree.sibling(n.index())) {
                n = TreeHash.parent(roots.remove(roots.size() - 1), n);
                written.add(n);
            }
            roots.add(n);
        }
        byte[] rootHash = TreeHash.rootHash(roots);
        Signed signed = new Signed(length, bytes, rootHash,
                SignedRoots.sign(signingKey(k, f.secretKey()), HEX.parseHex(k), length, bytes, rootHash));
        store.insertEntries(k, f.length(), entries);
        store.insertNodes(k, written);
        store.insertSigned(k, signed);
        store.setLength(k, length, bytes);
        return new Appended(f.length(), length, signed);
    }

    // ---- the key-value view ---------------------------------------------------------------------------------------

    public static final int MAX_KEY_BYTES = 1024;

    /**
     * Sets ({@code value} non-null) or deletes a key of a key-value feed this cell owns: one operation appended (its
     * version is the feed's new length) and indexed, in one transaction. {@code expectedVersion} (0: none) must be
     * the version of the key's latest change (0 when it never had one), else ABORTED and nothing is written.
     */
    public Appended write(String key, String k, byte[] value, long expectedVersion) {
        String feedKey = checkKey(key);
        byte[] kb = keyBytes(k);
        if (value != null && value.length > MAX_ENTRY_BYTES - 3 - kb.length) {
            throw GrpcErrors.limitExceeded("value", "a value is at most " + (MAX_ENTRY_BYTES - 3 - kb.length)
                    + " bytes with this key, not " + value.length);
        }
        if (expectedVersion < 0) {
            throw GrpcErrors.invalidArgument("expected_version", "must not exceed 2^63 - 1");
        }
        Appended appended = tx.execute(s -> {
            FeedRow f = lockOwned(feedKey, KEY_VALUE);
            java.util.Optional<FeedStore.Change> latest = store.latest(feedKey, kb, f.length());
            if (value == null && latest.map(FeedStore.Change::deleted).orElse(true)) {
                throw GrpcErrors.notFound("key '" + k + "' has no value to delete in feed " + feedKey);
            }
            long current = latest.map(FeedStore.Change::version).orElse(0L);
            if (expectedVersion != 0 && current != expectedVersion) {
                throw Status.ABORTED.withDescription("expected_version: key '" + k + "' is at version " + current + ", not "
                        + expectedVersion).asRuntimeException();
            }
            byte[] v = value == null ? new byte[0] : value;
            Appended a = appendLocked(f, List.of(new KeyValueOp(value == null, kb, v).encode()));
            store.insertChange(feedKey, new FeedStore.Change(kb, a.length(), value == null, v));
            return a;
        });
        events.changed(feedKey);
        return appended;
    }

    /** A version to read at: 0 means the feed's length; beyond it OUT_OF_RANGE. */
    public static long version(FeedRow f, String field, long version) {
        if (version == 0) {
            return f.length();
        }
        if (version < 0 || version > f.length()) {
            throw Status.OUT_OF_RANGE.withDescription(field + ": feed " + f.key() + " is at version " + f.length() + ", not "
                    + version).asRuntimeException();
        }
        return version;
    }

    public FeedRow keyValueFeed(String key) {
        FeedRow f = feed(key);
        requireType(f, KEY_VALUE);
        return f;
    }

    /**
     * A version of a key-value feed to read the view at (as {@link #version}); on a replica, only once every entry up
     * to it is here (the view is built from them), else FAILED_PRECONDITION.
     */
    public long readableVersion(FeedRow f, String field, long version) {
        long v = version(f, field, version);
        if (!f.owned() && store.countStored(f.key(), 0, v) < v) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": this replica of feed " + f.key()
                    + " has not downloaded every entry up to version " + v + " (follow the whole feed to read its view)")
                    .asRuntimeException();
        }
        return v;
    }

    public FeedStore store() {
        return store;
    }

    public static byte[] keyBytes(String k) {
        byte[] b = k.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length < 1 || b.length > MAX_KEY_BYTES) {
            throw GrpcErrors.invalidArgument("key", "must be 1 to " + MAX_KEY_BYTES + " bytes of UTF-8, not " + b.length);
        }
        return b;
    }

    /** The smallest byte string above every string starting with {@code prefix}; null when there is none (all 0xFF). */
    public static byte[] prefixEnd(byte[] prefix) {
        byte[] end = prefix.clone();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xFF) {
                end[i]++;
                return java.util.Arrays.copyOf(end, i + 1);
            }
        }
        return null;
    }

    // ---- reads and proofs ------------------------------------------------------------------------------------------

    public byte[] entry(FeedRow f, long index) {
        checkIndex("index", index, f.length());
        return store.entry(f.key(), index).orElseThrow(() -> GrpcErrors.notFound("entry " + index + " of feed " + f.key()
                + " is not stored on this cell"));
    }

    public List<byte[]> entries(FeedRow f, long from, long to) {
        return store.entries(f.key(), from, to);
    }

    /** The signed root at {@code length} (≤ the feed's): as signed after the append that reached it, else signed now. */
    public Signed signedAt(FeedRow f, long length) {
        if (length > f.length()) {
            throw Status.OUT_OF_RANGE.withDescription("length: feed " + f.key() + " has " + f.length() + " entries, not "
                    + length).asRuntimeException();
        }
        return store.signed(f.key(), length).orElseGet(() -> {
            if (!f.owned()) {
                throw GrpcErrors.notFound("no signed root of feed " + f.key() + " at length " + length + " on this cell");
            }
            // inside a batch: the owner signs the tree at that length now (its nodes never change)
            List<Node> roots = store.nodes(f.key(), FlatTree.roots(length));
            byte[] rootHash = TreeHash.rootHash(roots);
            long bytes = Proofs.byteLength(roots);
            return new Signed(length, bytes, rootHash, SignedRoots.sign(signingKey(f.key(), f.secretKey()),
                    HEX.parseHex(f.key()), length, bytes, rootHash));
        });
    }

    public List<Node> inclusion(FeedRow f, long index, long length) {
        checkIndex("index", index, length);
        return proofNodes(f, Proofs.inclusionIndexes(index, length)); // one query for the whole proof
    }

    public List<Node> consistency(FeedRow f, long from, long to) {
        return proofNodes(f, Proofs.consistencyIndexes(from, to));
    }

    /** The nodes of a proof; NOT_FOUND on a sparse replica that lacks one. */
    private List<Node> proofNodes(FeedRow f, List<Long> indexes) {
        try {
            return store.nodes(f.key(), indexes);
        } catch (FeedStore.MissingNodeException e) {
            throw GrpcErrors.notFound(e.getMessage() + " (a sparse replica proves only what it downloaded)");
        }
    }

    // ---- checks ---------------------------------------------------------------------------------------------------

    static String checkKey(String key) {
        return checkKey("feed_key", key);
    }

    /** A feed key as {@code field} of a request: 64 lowercase hex characters, else INVALID_ARGUMENT naming the field. */
    public static String checkKey(String field, String key) {
        if (key.isEmpty()) {
            throw GrpcErrors.invalidArgument(field, "is required");
        }
        if (!Sha256.isCanonicalHex(key)) { // an Ed25519 public key is 32 bytes, as a SHA-256 hash
            throw GrpcErrors.invalidArgument(field, "must be the 64 lowercase hex characters of an Ed25519 public key");
        }
        return key;
    }

    static void checkIndex(String field, long index, long length) {
        if (index < 0 || index >= length) {
            throw Status.OUT_OF_RANGE.withDescription(field + ": " + index + " is not below the length " + length)
                    .asRuntimeException();
        }
    }

    private Ed25519.SigningKey signingKey(String key, byte[] seed) {
        return keys.computeIfAbsent(key, k -> Ed25519.signingKey(seed));
    }

}
