package io.celluler.catalog.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

import com.google.protobuf.ByteString;

/**
 * One cell's replica of the catalog: the entries' CRDT states, this cell's change log, and what the replica knows of
 * the other cells. A pure state machine (DESIGN §6): the caller passes in physical time, other cells' messages and
 * the members; it gets back the changes to persist and show, and the messages to send.
 *
 * <h2>Changes and knowledge</h2>
 * Every local change gets the next number {@code seq} of this cell's change log and is a delta ({@link EntryState})
 * that is joined into the entry and kept in the log until every member has it. {@link #knowledge()} is the set of
 * changes {@code (cell, seq)} whose effect this replica holds: a cell's own, those delivered by gossip, and, after an
 * anti-entropy round with a cell, every change of that cell up to the round's start ({@link #markSynced}).
 *
 * <h2>Gossip</h2>
 * {@link #gossipTo} sends a peer the log from the first change it has not acknowledged (so a lost batch is sent
 * again), {@link #onDeltas} applies the deltas it does not already know and answers its knowledge, {@link #onAck}
 * records it and trims the log. Every message carries the sender's knowledge: the reports of stability.
 *
 * <h2>Causal stability and collection</h2>
 * A change is stable when every member's report holds it. A tombstone (a deleted entry) is dropped in two steps:
 * once its deletion is stable, the replica notes {@code M}, the pointwise maximum of the members' reports (each made
 * after that member applied the deletion, so {@code M} holds every change any member made to the entry before it
 * learned of the deletion); once the stable vector reaches {@code M}, every such change has reached every member and
 * been absorbed by the tombstone there, and gossip drops repeats of known changes, so nothing can bring the entry
 * back: the tombstone goes. A member that never reports holds collection back (it is safe, not live, until
 * {@link #forget} removes it).
 */
public final class CatalogReplica {

    /** What a change did to an entry, as far as readers see it. */
    public enum ChangeKind {
        /** The entry became visible (its creation arrived). */
        CREATED,
        /** A visible entry changed. */
        UPDATED,
        /** A visible entry was deleted. */
        DELETED,
        /** State changed that readers do not see (a tombstone, or part of an entry whose creation is missing). */
        HIDDEN,
        /** A tombstone was collected: the entry is gone from the replica. */
        COLLECTED
    }

    /**
     * One applied change: the entry's state after it (null when collected; the live state, which later changes
     * change: read it under the replica's lock), and for DELETED a copy of the last state readers saw.
     */
    public record Change(String entryId, ChangeKind kind, EntryState entry, EntryState lastVisible) {

        public Change(String entryId, ChangeKind kind, EntryState entry) {
            this(entryId, kind, entry, null);
        }
    }

    /** One change of a cell's log: its number and its delta. */
    public record Delta(long seq, EntryState state) {
    }

    /**
     * Gossip from {@code origin}: changes of its log (possibly none: then it is a report), its knowledge and its
     * newest change number.
     */
    public record DeltaBatch(String origin, List<Delta> deltas, Map<String, Long> knowledge, long originSeq) {
    }

    /** The digest of a key range: XOR of the SHA-256 of its entries' states, and how many there are. */
    public record RangeDigest(byte[] xor, int count) {
        public boolean sameAs(RangeDigest o) {
            return count == o.count && java.util.Arrays.equals(xor, o.xor);
        }
    }

    /** Hex digits of the id prefix whose ranges keep running digests (16^3 = 4,096 buckets). */
    static final int BUCKET_DIGITS = 3;
    private static final int BUCKETS = 1 << (4 * BUCKET_DIGITS);

    private final String self;
    private final HlcClock clock;
    private final int maxLogChanges;
    private long seq;
    private final TreeMap<String, EntryState> entries = new TreeMap<>();
    private final HashMap<String, byte[]> hashes = new HashMap<>();
    private final byte[][] bucketXor = new byte[BUCKETS][32];
    private final int[] bucketCount = new int[BUCKETS];
    private final DotContext knowledge = new DotContext();
    private final TreeMap<Long, EntryState> log = new TreeMap<>();
    private final TreeMap<String, Long> acked = new TreeMap<>();
    private final TreeMap<String, Map<String, Long>> reports = new TreeMap<>();
    private final TreeSet<String> members = new TreeSet<>();
    private final TreeSet<String> tombstones = new TreeSet<>();
    private final HashMap<String, Map<String, Long>> collectAfter = new HashMap<>();
    private long dropped;

    /**
     * @param maxDriftMillis how far ahead of physical time another cell's reading may be and still be followed
     * @param maxLogChanges  how many changes the log keeps for members that have not acknowledged them; beyond, the
     *                       oldest go and a member that missed them catches up by anti-entropy
     */
    public CatalogReplica(String self, long maxDriftMillis, int maxLogChanges) {
        this.self = self;
        this.clock = new HlcClock(self, maxDriftMillis);
        this.maxLogChanges = maxLogChanges;
        members.add(self);
    }

    // ---- local changes ------------------------------------------------------------------------------------------

    /** Creates entry {@code id} (unique: chosen at random by the caller). */
    public Change create(String id, int type, String name, String version, String contentRoot, long sizeBytes,
            ByteString details, Map<String, String> labels, ByteString metadata, long nowMillis) {
        if (entries.containsKey(id)) {
            throw new IllegalStateException("entry " + id + " exists");
        }
        Hlc at = clock.now(nowMillis);
        return commit(EntryState.creation(id, type, self, at, name, version, contentRoot, sizeBytes, details,
                labels, metadata));
    }

    /** Writes fields of a visible entry ({@code null}: unchanged). */
    public Change updateFields(String id, String name, String version, String contentRoot, Long sizeBytes,
            ByteString details, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.fieldsDelta(clock.now(nowMillis), name, version, contentRoot, sizeBytes, details));
    }

    public Change updateLabels(String id, Map<String, String> set, Collection<String> remove, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.labelsDelta(self, clock.now(nowMillis), set, remove));
    }

    public Change updateMetadata(String id, ByteString struct, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.metadataDelta(self, clock.now(nowMillis), struct));
    }

    public Change updateStatus(String id, int code, String reason, ByteString finality, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.statusDelta(clock.now(nowMillis), code, reason, finality));
    }

    public Change setLocation(String id, int kind, boolean present, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.locationDelta(self, kind, present, nowMillis));
    }

    public Change addToCounter(String id, String counter, long amount, long nowMillis) {
        EntryState e = visible(id);
        clock.now(nowMillis);
        return commit(e.counterDelta(self, counter, amount));
    }

    public Change delete(String id, long nowMillis) {
        EntryState e = visible(id);
        return commit(e.deletionDelta(clock.now(nowMillis), self, seq + 1));
    }

    /** A visible entry, or {@link UnknownEntryException}. */
    public EntryState visible(String id) {
        EntryState e = entries.get(id);
        if (e == null || !e.isComplete()) {
            throw new UnknownEntryException(id);
        }
        return e;
    }

    private Change commit(EntryState delta) {
        seq++;
        knowledge.add(new Dot(self, seq));
        log.put(seq, delta);
        trimLog();
        Change c = apply(delta);
        return c != null ? c : new Change(delta.id(), ChangeKind.HIDDEN, entries.get(delta.id()));
    }

    /** Joins a state or delta into the replica; null when nothing changed. */
    private Change apply(EntryState incoming) {
        String id = incoming.id();
        EntryState cur = entries.get(id);
        boolean wasVisible = cur != null && cur.isComplete();
        boolean isNew = cur == null;
        if (isNew) {
            cur = new EntryState(id);
        }
        EntryState before = wasVisible && incoming.isDeleted() ? EntryCodec.decode(EntryCodec.encode(cur)) : null;
        cur.join(incoming);
        byte[] h = EntryCodec.hash(cur);
        byte[] old = hashes.get(id);
        if (old != null && java.util.Arrays.equals(old, h)) {
            return null;
        }
        if (isNew) {
            entries.put(id, cur);
        }
        hashes.put(id, h);
        int b = bucket(id);
        xorInto(bucketXor[b], h);
        if (old != null) {
            xorInto(bucketXor[b], old);
        } else {
            bucketCount[b]++;
        }
        if (cur.isDeleted()) {
            tombstones.add(id);
            return wasVisible ? new Change(id, ChangeKind.DELETED, cur, before) : new Change(id, ChangeKind.HIDDEN, cur);
        }
        if (cur.isComplete()) {
            return new Change(id, wasVisible ? ChangeKind.UPDATED : ChangeKind.CREATED, cur);
        }
        return new Change(id, ChangeKind.HIDDEN, cur);
    }

    // ---- gossip -------------------------------------------------------------------------------------------------

    /**
     * What to send {@code peer}: the changes of the log it has not acknowledged, at most {@code maxDeltas} of them and
     * about {@code maxBytes} encoded (at least one); none when it has them all: the batch is then a report of this
     * replica's knowledge. Reads only: the caller records a new peer with {@link #addMember}.
     */
    public DeltaBatch gossipTo(String peer, int maxDeltas, int maxBytes) {
        long from = acked.getOrDefault(peer, 0L) + 1;
        List<Delta> out = new ArrayList<>();
        long bytes = 0;
        for (Map.Entry<Long, EntryState> e : log.tailMap(from, true).entrySet()) {
            if (out.size() >= maxDeltas || (!out.isEmpty() && bytes >= maxBytes)) {
                break;
            }
            bytes += EntryCodec.encode(e.getValue()).getSerializedSize();
            out.add(new Delta(e.getKey(), e.getValue()));
        }
        return new DeltaBatch(self, out, knowledgeVector(), seq);
    }

    /** {@link #gossipTo(String, int, int)} without a byte bound. */
    public DeltaBatch gossipTo(String peer, int maxDeltas) {
        return gossipTo(peer, maxDeltas, Integer.MAX_VALUE);
    }

    /** Applies the changes of a batch this replica does not know yet; the caller acknowledges with {@link #knowledgeVector}. */
    public List<Change> onDeltas(DeltaBatch batch, long nowMillis) {
        String origin = batch.origin();
        addMember(origin);
        List<Change> changes = new ArrayList<>();
        for (Delta d : batch.deltas()) {
            Dot dot = new Dot(origin, d.seq());
            if (knowledge.contains(dot)) {
                continue;
            }
            clock.observe(d.state().latestReading(), nowMillis);
            Change c = apply(d.state());
            knowledge.add(dot);
            if (c != null) {
                changes.add(c);
            }
        }
        report(origin, batch.knowledge());
        return changes;
    }

    /** A peer's acknowledgement (its knowledge): the log can drop what every member has. */
    public void onAck(String peer, Map<String, Long> peerKnowledge) {
        addMember(peer);
        acked.merge(peer, peerKnowledge.getOrDefault(self, 0L), Math::max);
        report(peer, peerKnowledge);
        trimLog();
    }

    private void report(String cell, Map<String, Long> vector) {
        if (cell.equals(self)) {
            return;
        }
        Map<String, Long> r = reports.computeIfAbsent(cell, k -> new TreeMap<>());
        vector.forEach((c, n) -> r.merge(c, n, Math::max));
    }

    private void trimLog() {
        // with no other member known yet, the log keeps what it can for the first ones to appear
        long keepFrom = members.size() > 1 ? seq + 1 : 1;
        for (String m : members) {
            if (!m.equals(self)) {
                keepFrom = Math.min(keepFrom, acked.getOrDefault(m, 0L) + 1);
            }
        }
        log.headMap(keepFrom, false).clear();
        while (log.size() > maxLogChanges) {
            log.pollFirstEntry();
            dropped++;
        }
    }

    // ---- anti-entropy -------------------------------------------------------------------------------------------

    /** The digest of the entries whose ids start with {@code prefix} (hex, up to 32 digits). */
    public RangeDigest digest(String prefix) {
        if (prefix.length() <= BUCKET_DIGITS) {
            int span = 1 << (4 * (BUCKET_DIGITS - prefix.length()));
            int first = prefix.isEmpty() ? 0 : Integer.parseInt(prefix, 16) * span;
            byte[] x = new byte[32];
            int n = 0;
            for (int b = first; b < first + span; b++) {
                xorInto(x, bucketXor[b]);
                n += bucketCount[b];
            }
            return new RangeDigest(x, n);
        }
        byte[] x = new byte[32];
        int n = 0;
        for (String id : range(prefix).keySet()) {
            xorInto(x, hashes.get(id));
            n++;
        }
        return new RangeDigest(x, n);
    }

    /** The digests of the 16 ranges one hex digit below {@code prefix}. */
    public List<RangeDigest> childDigests(String prefix) {
        List<RangeDigest> out = new ArrayList<>(16);
        for (int i = 0; i < 16; i++) {
            out.add(digest(prefix + Character.forDigit(i, 16)));
        }
        return out;
    }

    /** Entry id to state hash, for the ids starting with {@code prefix}. */
    public SortedMap<String, byte[]> hashesUnder(String prefix) {
        TreeMap<String, byte[]> out = new TreeMap<>();
        range(prefix).keySet().forEach(id -> out.put(id, hashes.get(id)));
        return out;
    }

    private SortedMap<String, EntryState> range(String prefix) {
        return prefix.isEmpty() ? entries : entries.subMap(prefix, prefix + "g");
    }

    /** The full state of an entry (tombstones included), or null. */
    public EntryState state(String id) {
        return entries.get(id);
    }

    /** Joins full states another cell sent (anti-entropy); the caller has checked them with {@link EntryCodec}. */
    public List<Change> mergeStates(Collection<EntryState> states, long nowMillis) {
        List<Change> changes = new ArrayList<>();
        for (EntryState s : states) {
            clock.observe(s.latestReading(), nowMillis);
            Change c = apply(s);
            if (c != null) {
                changes.add(c);
            }
        }
        return changes;
    }

    /**
     * After an anti-entropy round with {@code peer} that covered every range: this replica holds the effect of every
     * change of {@code peer} up to {@code peerSeq} (its newest when the round began), and knows its knowledge then.
     */
    public void markSynced(String peer, long peerSeq, Map<String, Long> peerKnowledge) {
        addMember(peer);
        knowledge.raise(peer, peerSeq);
        report(peer, peerKnowledge);
    }

    // ---- stability and collection -------------------------------------------------------------------------------

    public void addMember(String cell) {
        members.add(cell);
    }

    /** Sets the members (this cell always is one); cells no longer listed stop counting for stability. */
    public void setMembers(Collection<String> cells) {
        members.clear();
        members.add(self);
        members.addAll(cells);
    }

    /** Removes a cell that left for good: it no longer holds collection back. */
    public void forget(String cell) {
        if (!cell.equals(self)) {
            members.remove(cell);
            reports.remove(cell);
            acked.remove(cell);
            trimLog();
        }
    }

    /**
     * The changes every member is known to hold: per cell, the minimum over the members' reports (this replica's
     * own knowledge included). Empty while a member has not reported.
     */
    public SortedMap<String, Long> stableVector() {
        List<Map<String, Long>> all = new ArrayList<>();
        all.add(knowledgeVector());
        for (String m : members) {
            if (m.equals(self)) {
                continue;
            }
            Map<String, Long> r = reports.get(m);
            if (r == null) {
                return Collections.emptySortedMap();
            }
            all.add(r);
        }
        TreeSet<String> cells = new TreeSet<>();
        all.forEach(r -> cells.addAll(r.keySet()));
        TreeMap<String, Long> stable = new TreeMap<>();
        for (String c : cells) {
            long min = Long.MAX_VALUE;
            for (Map<String, Long> r : all) {
                min = Math.min(min, r.getOrDefault(c, 0L));
            }
            if (min > 0) {
                stable.put(c, min);
            }
        }
        return stable;
    }

    /** Drops the tombstones no member can need any more (see the class comment); answers what it dropped. */
    public List<Change> collectGarbage() {
        if (tombstones.isEmpty()) {
            return List.of();
        }
        SortedMap<String, Long> stable = stableVector();
        if (stable.isEmpty()) {
            return List.of();
        }
        List<Change> out = new ArrayList<>();
        for (String id : new ArrayList<>(tombstones)) {
            Deletion d = entries.get(id).deletion();
            if (stable.getOrDefault(d.cell(), 0L) < d.seq()) {
                continue;
            }
            Map<String, Long> wait = collectAfter.computeIfAbsent(id, k -> membersMaximum());
            if (dominates(stable, wait)) {
                remove(id);
                out.add(new Change(id, ChangeKind.COLLECTED, null));
            }
        }
        return out;
    }

    private Map<String, Long> membersMaximum() {
        TreeMap<String, Long> max = new TreeMap<>(knowledgeVector());
        for (String m : members) {
            Map<String, Long> r = reports.get(m);
            if (r != null) {
                r.forEach((c, n) -> max.merge(c, n, Math::max));
            }
        }
        return max;
    }

    private static boolean dominates(Map<String, Long> a, Map<String, Long> b) {
        for (Map.Entry<String, Long> e : b.entrySet()) {
            if (a.getOrDefault(e.getKey(), 0L) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private void remove(String id) {
        entries.remove(id);
        byte[] h = hashes.remove(id);
        int b = bucket(id);
        xorInto(bucketXor[b], h);
        bucketCount[b]--;
        tombstones.remove(id);
        collectAfter.remove(id);
    }

    // ---- restoring from storage ---------------------------------------------------------------------------------

    /**
     * Restores what the caller persisted: entries, the change counter, knowledge, the log and the peers' reports and
     * acknowledgements. Call on an empty replica, before anything else.
     */
    public void restore(Collection<EntryState> states, long seq, DotContext knowledge, Map<Long, EntryState> log,
            Map<String, Long> acked, Map<String, Map<String, Long>> reports, long nowMillis) {
        if (!entries.isEmpty() || this.seq != 0) {
            throw new IllegalStateException("restore into a used replica");
        }
        for (EntryState s : states) {
            clock.observe(s.latestReading(), nowMillis);
            apply(s);
        }
        this.seq = seq;
        this.knowledge.join(knowledge);
        this.knowledge.raise(self, seq);
        this.log.putAll(log);
        this.acked.putAll(acked);
        acked.keySet().forEach(this::addMember); // every member was stored with an acknowledgement (0: none yet)
        reports.forEach((c, r) -> {
            addMember(c);
            report(c, r);
        });
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    public String self() {
        return self;
    }

    public long seq() {
        return seq;
    }

    /** Every entry state held, tombstones and incomplete ones included, by id. */
    public NavigableMap<String, EntryState> entries() {
        return Collections.unmodifiableNavigableMap(entries);
    }

    public int tombstoneCount() {
        return tombstones.size();
    }

    public int liveCount() {
        int n = 0;
        for (EntryState e : entries.values()) {
            if (e.isComplete()) {
                n++;
            }
        }
        return n;
    }

    /** Per cell, the changes up to which this replica holds every one. */
    public SortedMap<String, Long> knowledgeVector() {
        return new TreeMap<>(knowledge.compactView());
    }

    public DotContext knowledge() {
        return knowledge.copy();
    }

    public Set<String> members() {
        return Collections.unmodifiableSet(members);
    }

    public Map<String, Long> acked() {
        return Collections.unmodifiableMap(acked);
    }

    public Map<String, Map<String, Long>> reports() {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        reports.forEach((c, r) -> out.put(c, Collections.unmodifiableMap(r)));
        return out;
    }

    /** The changes kept for members that have not acknowledged them, by number. */
    public SortedMap<Long, EntryState> log() {
        return Collections.unmodifiableSortedMap(log);
    }

    public int logSize() {
        return log.size();
    }

    /** Changes dropped from the log before every member acknowledged them (the log was full). */
    public long droppedFromLog() {
        return dropped;
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static int bucket(String id) {
        return Integer.parseInt(id, 0, BUCKET_DIGITS, 16);
    }

    private static void xorInto(byte[] into, byte[] with) {
        for (int i = 0; i < into.length; i++) {
            into[i] ^= with[i];
        }
    }
}
