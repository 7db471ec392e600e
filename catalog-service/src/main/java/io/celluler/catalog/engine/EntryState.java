package io.celluler.catalog.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

import com.google.protobuf.ByteString;

/**
 * The CRDT state of one catalog entry, a join-semilattice built from smaller ones:
 * <ul>
 * <li>a header (type, owner cell, creation reading) written once by the creating cell;</li>
 * <li>the fields name, version, content root, size and details as last-writer-wins registers on HLC readings;</li>
 * <li>labels as an observed-remove map: each set of a key adds a version under a new dot and removes the versions
 * it observed, so a concurrent set and remove keeps the set (add wins) and two concurrent sets both stay until the
 * next set (shown: the later one);</li>
 * <li>metadata as a multi-value register (the same dot store: concurrent writes all stay visible);</li>
 * <li>the status register ({@link Status}), per-cell locations ({@link Location}), PN-counters ({@link CounterShare});</li>
 * <li>a deletion: once deleted, an entry is a tombstone that absorbs every other state of it, so no concurrent or
 * late update brings it back (remove wins at entry level, unlike the labels inside).</li>
 * </ul>
 * Dots are per entry ({@code cell:n} = the n-th dot {@code cell} made on this entry), and the entry's causal context
 * is every dot it has seen; a full state's context is a plain version vector, a delta's holds just its own dots.
 *
 * <p>{@link #join} is the merge: commutative, associative, idempotent. Every change is made as a delta first and
 * joined in, locally and remotely the same way. Mutable, not thread-safe; deltas handed out are never mutated.
 */
public final class EntryState {

    private final String id;
    private int type;
    private String owner;
    private Hlc createdAt;
    private DotContext context = new DotContext();
    private Lww<String> name;
    private Lww<String> version;
    private Lww<String> contentRoot;
    private Lww<Long> sizeBytes;
    private Lww<ByteString> details;
    private final TreeMap<Dot, Metadata> metadata = new TreeMap<>();
    private final TreeMap<Dot, Label> labels = new TreeMap<>();
    private Status status;
    private final TreeMap<String, Location> locations = new TreeMap<>();
    private final TreeMap<String, CounterShare> counters = new TreeMap<>();
    private Deletion deletion;

    public EntryState(String id) {
        this.id = Objects.requireNonNull(id);
    }

    /** An empty state of entry {@code id} with its header: the start of every delta. */
    public static EntryState withHeader(String id, int type, String owner, Hlc createdAt) {
        EntryState s = new EntryState(id);
        s.type = type;
        s.owner = owner;
        s.createdAt = createdAt;
        return s;
    }

    // ---- join -----------------------------------------------------------------------------------------------------

    /** Merges {@code other} (a state or a delta of the same entry) into this one. */
    public void join(EntryState other) {
        if (!other.id.equals(id)) {
            throw new IllegalArgumentException("joining entry " + other.id + " into " + id);
        }
        joinHeader(other);
        deletion = Deletion.join(deletion, other.deletion);
        if (deletion != null) {
            clearContent();
            return;
        }
        joinDots(metadata, other.metadata, context, other.context);
        joinDots(labels, other.labels, context, other.context);
        context.join(other.context);
        name = Lww.join(name, other.name, Comparator.naturalOrder());
        version = Lww.join(version, other.version, Comparator.naturalOrder());
        contentRoot = Lww.join(contentRoot, other.contentRoot, Comparator.naturalOrder());
        sizeBytes = Lww.join(sizeBytes, other.sizeBytes, Comparator.naturalOrder());
        details = Lww.join(details, other.details, ByteString.unsignedLexicographicalComparator());
        status = Status.join(status, other.status);
        other.locations.forEach((k, v) -> locations.merge(k, v, Location::join));
        other.counters.forEach((k, v) -> counters.merge(k, v, CounterShare::join));
    }

    private void joinHeader(EntryState other) {
        if (other.createdAt == null) {
            return;
        }
        // one creating cell writes the header once; if two differ (a broken cell), the earliest is kept everywhere
        if (createdAt == null || headerOrder(other) < 0) {
            type = other.type;
            owner = other.owner;
            createdAt = other.createdAt;
        }
    }

    private int headerOrder(EntryState other) {
        int c = other.createdAt.compareTo(createdAt);
        if (c == 0) {
            c = other.owner.compareTo(owner);
        }
        if (c == 0) {
            c = Integer.compare(other.type, type);
        }
        return c;
    }

    /**
     * The join of two dot stores under their contexts: a version stays if both hold it, or if one holds it and the
     * other has not seen its dot (had it seen it and not kept it, it removed it).
     */
    private static <V> void joinDots(TreeMap<Dot, V> mine, TreeMap<Dot, V> theirs, DotContext myContext,
            DotContext theirContext) {
        Iterator<Map.Entry<Dot, V>> it = mine.entrySet().iterator();
        while (it.hasNext()) {
            Dot d = it.next().getKey();
            if (!theirs.containsKey(d) && theirContext.contains(d)) {
                it.remove();
            }
        }
        theirs.forEach((d, v) -> {
            if (!mine.containsKey(d) && !myContext.contains(d)) {
                mine.put(d, v);
            }
        });
    }

    private void clearContent() {
        // a tombstone keeps its id, header and deletion: nothing else joins into it any more
        context = new DotContext();
        metadata.clear();
        labels.clear();
        name = null;
        version = null;
        contentRoot = null;
        sizeBytes = null;
        details = null;
        status = null;
        locations.clear();
        counters.clear();
    }

    // ---- deltas (each is then joined into the state it was made from) --------------------------------------------

    /** A delta that creates the entry: every field, the labels, the metadata and the PENDING status. */
    public static EntryState creation(String id, int type, String owner, Hlc at, String name, String version,
            String contentRoot, long sizeBytes, ByteString details, Map<String, String> labels, ByteString metadata) {
        EntryState d = withHeader(id, type, owner, at);
        d.name = new Lww<>(name, at);
        d.version = new Lww<>(version, at);
        d.contentRoot = new Lww<>(contentRoot, at);
        d.sizeBytes = new Lww<>(sizeBytes, at);
        d.details = new Lww<>(details, at);
        long n = 0;
        for (Map.Entry<String, String> l : new TreeMap<>(labels).entrySet()) {
            Dot dot = new Dot(owner, ++n);
            d.labels.put(dot, new Label(l.getKey(), l.getValue(), at));
            d.context.add(dot);
        }
        Dot dot = new Dot(owner, ++n);
        d.metadata.put(dot, new Metadata(metadata, at));
        d.context.add(dot);
        d.status = new Status(Status.PENDING, at, "", ByteString.EMPTY);
        return d;
    }

    private EntryState deltaHeader() {
        return withHeader(id, type, owner, createdAt);
    }

    /**
     * A delta of field writes ({@code null}: unchanged).
     */
    public EntryState fieldsDelta(Hlc at, String newName, String newVersion, String newContentRoot, Long newSize,
            ByteString newDetails) {
        EntryState d = deltaHeader();
        d.name = newName == null ? null : new Lww<>(newName, at);
        d.version = newVersion == null ? null : new Lww<>(newVersion, at);
        d.contentRoot = newContentRoot == null ? null : new Lww<>(newContentRoot, at);
        d.sizeBytes = newSize == null ? null : new Lww<>(newSize, at);
        d.details = newDetails == null ? null : new Lww<>(newDetails, at);
        return d;
    }

    /** A delta that sets labels (each set removes the versions of its key observed here) and removes keys. */
    public EntryState labelsDelta(String cell, Hlc at, Map<String, String> set, Collection<String> remove) {
        EntryState d = deltaHeader();
        for (Map.Entry<Dot, Label> e : labels.entrySet()) {
            String key = e.getValue().key();
            if (set.containsKey(key) || remove.contains(key)) {
                d.context.add(e.getKey());
            }
        }
        long next = context.max(cell);
        for (Map.Entry<String, String> l : new TreeMap<>(set).entrySet()) {
            Dot dot = new Dot(cell, ++next);
            d.labels.put(dot, new Label(l.getKey(), l.getValue(), at));
            d.context.add(dot);
        }
        return d;
    }

    /** A delta that replaces every metadata version observed here with {@code struct}. */
    public EntryState metadataDelta(String cell, Hlc at, ByteString struct) {
        EntryState d = deltaHeader();
        metadata.keySet().forEach(d.context::add);
        Dot dot = context.next(cell);
        d.metadata.put(dot, new Metadata(struct, at));
        d.context.add(dot);
        return d;
    }

    public EntryState statusDelta(Hlc at, int code, String reason, ByteString finality) {
        EntryState d = deltaHeader();
        d.status = new Status(code, at, reason, finality);
        return d;
    }

    /** A delta of this cell's location report: the next version of its (cell, kind) key. */
    public EntryState locationDelta(String cell, int kind, boolean present, long sinceMillis) {
        EntryState d = deltaHeader();
        Location old = locations.get(cell + "/" + kind);
        Location l = new Location(cell, kind, present, old == null ? 1 : old.version() + 1, sinceMillis);
        d.locations.put(l.key(), l);
        return d;
    }

    /** A delta adding {@code amount} (negative: subtracting) to counter {@code counter}, on this cell's share. */
    public EntryState counterDelta(String cell, String counter, long amount) {
        EntryState d = deltaHeader();
        CounterShare old = counters.get(counter + '\u0000' + cell);
        long inc = old == null ? 0 : old.increments();
        long dec = old == null ? 0 : old.decrements();
        if (amount >= 0) {
            inc = Math.addExact(inc, amount);
        } else {
            dec = Math.addExact(dec, -amount);
        }
        CounterShare s = new CounterShare(counter, cell, inc, dec);
        d.counters.put(s.key(), s);
        return d;
    }

    public EntryState deletionDelta(Hlc at, String cell, long seq) {
        EntryState d = deltaHeader();
        d.deletion = new Deletion(at, cell, seq);
        return d;
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    public String id() {
        return id;
    }

    public int type() {
        return type;
    }

    public String owner() {
        return owner;
    }

    public Hlc createdAt() {
        return createdAt;
    }

    public boolean isDeleted() {
        return deletion != null;
    }

    /** Whether the entry's creation has arrived (a lone later delta only carries part of it): shown only then. */
    public boolean isComplete() {
        return deletion == null && createdAt != null && name != null && status != null;
    }

    public Deletion deletion() {
        return deletion;
    }

    public DotContext context() {
        return context;
    }

    public Lww<String> name() {
        return name;
    }

    public Lww<String> version() {
        return version;
    }

    public Lww<String> contentRoot() {
        return contentRoot;
    }

    public Lww<Long> sizeBytes() {
        return sizeBytes;
    }

    public Lww<ByteString> details() {
        return details;
    }

    public Status status() {
        return status;
    }

    public SortedMap<Dot, Label> labelVersions() {
        return Collections.unmodifiableSortedMap(labels);
    }

    public SortedMap<Dot, Metadata> metadataVersions() {
        return Collections.unmodifiableSortedMap(metadata);
    }

    public SortedMap<String, Location> locations() {
        return Collections.unmodifiableSortedMap(locations);
    }

    public SortedMap<String, CounterShare> counterShares() {
        return Collections.unmodifiableSortedMap(counters);
    }

    /** The labels as shown: per key, the version written last (concurrent versions stay until the next set). */
    public SortedMap<String, String> labels() {
        TreeMap<String, Label> latest = new TreeMap<>();
        labels.values().forEach(l -> latest.merge(l.key(), l, (a, b) -> a.at().compareTo(b.at()) >= 0 ? a : b));
        TreeMap<String, String> view = new TreeMap<>();
        latest.forEach((k, l) -> view.put(k, l.value()));
        return view;
    }

    /** The metadata versions, latest first: more than one when cells wrote it concurrently. */
    public List<Metadata> metadata() {
        List<Metadata> all = new ArrayList<>(metadata.values());
        all.sort(Comparator.comparing(Metadata::at).reversed());
        return all;
    }

    /** The counters' values: increments less decrements over every cell. */
    public SortedMap<String, Long> counters() {
        TreeMap<String, Long> view = new TreeMap<>();
        counters.values().forEach(s -> view.merge(s.name(), s.increments() - s.decrements(), Long::sum));
        return view;
    }

    /** The latest HLC reading anywhere in this state (for the clock to follow), null when none. */
    public Hlc latestReading() {
        Hlc m = createdAt;
        m = Hlc.max(m, name == null ? null : name.at());
        m = Hlc.max(m, version == null ? null : version.at());
        m = Hlc.max(m, contentRoot == null ? null : contentRoot.at());
        m = Hlc.max(m, sizeBytes == null ? null : sizeBytes.at());
        m = Hlc.max(m, details == null ? null : details.at());
        m = Hlc.max(m, status == null ? null : status.at());
        m = Hlc.max(m, deletion == null ? null : deletion.at());
        for (Label l : labels.values()) {
            m = Hlc.max(m, l.at());
        }
        for (Metadata md : metadata.values()) {
            m = Hlc.max(m, md.at());
        }
        return m;
    }

    /** The reading of the last write (the entry's "updated at"), null when none. */
    public Hlc updatedAt() {
        return latestReading();
    }

    // ---- building from storage / the wire (EntryCodec) ----------------------------------------------------------

    void setHeader(int type, String owner, Hlc createdAt) {
        this.type = type;
        this.owner = owner;
        this.createdAt = createdAt;
    }

    void setFields(Lww<String> name, Lww<String> version, Lww<String> contentRoot, Lww<Long> sizeBytes,
            Lww<ByteString> details) {
        this.name = name;
        this.version = version;
        this.contentRoot = contentRoot;
        this.sizeBytes = sizeBytes;
        this.details = details;
    }

    void putLabel(Dot dot, Label label) {
        labels.put(dot, label);
    }

    void putMetadata(Dot dot, Metadata md) {
        metadata.put(dot, md);
    }

    void setStatus(Status status) {
        this.status = status;
    }

    void putLocation(Location l) {
        locations.put(l.key(), l);
    }

    void putCounter(CounterShare s) {
        counters.put(s.key(), s);
    }

    void setDeletion(Deletion deletion) {
        this.deletion = deletion;
    }

    void setContext(DotContext c) {
        context = c;
    }
}
