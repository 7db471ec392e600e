package io.celluler.consensus.store;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import io.celluler.consensus.engine.Messages.Block;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Where each committed transaction is, by id: a small log-structured merge index kept in the ledger's database.
 *
 * <p><b>Why not a table with an index on the id.</b> Ids are SHA-256 hashes, so each insert lands on a random leaf
 * of a B-tree. H2's MVStore is copy-on-write and (with {@code WRITE_DELAY=0}) writes every leaf a transaction
 * touched when it commits: measured here, 20–36k rows/s per core into a 1M-row index, falling as it grows, against
 * 160–320k rows/s without the random index (docs/benchmarks.md). Four validators ordering 10k tx/s need 40k rows/s.
 *
 * <p><b>How.</b> The ids of committed blocks go to an in-memory table, the memtable. Once it holds
 * {@code memtableEntries} ids or covers {@code memtableBlocks} heights it is frozen, and a background thread writes
 * it as one <i>run</i>: entries (id, height, position) sorted by id in pages of {@value #PAGE_ENTRIES}, written once,
 * in key order of the table ({@code consensus_tx_run_page}, sequential inserts), with a Bloom filter and the first
 * id of each page (the fences) kept in memory. Once {@code fanout} runs share a level, a second thread merges them
 * into one run of the next level (tiered compaction), so a lookup tests a few dozen Bloom filters and reads one
 * page for each that answers maybe. A frozen memtable stays searchable until its run is in the database and
 * published; a merged run's inputs are deleted only after the merged run is published.
 *
 * <p><b>Durability.</b> The index is derived from the ledger: each run records the heights it covers, and
 * {@link Ledger#openIndex} indexes again the blocks above the highest covered height at start-up. A lost memtable
 * (a crash) costs that reread, nothing else. Orphan pages (a crash during a merge) and runs whose heights a merged
 * run also covers (a crash before the inputs were deleted) are removed when the index opens.
 *
 * <p>A faulty leader may order one transaction twice: the first place counts, in the memtable (kept on insert)
 * and across runs (the lowest height wins).
 *
 * <p>Threads: {@link #add} from the consensus loop (it blocks when {@value #MAX_FROZEN} frozen memtables wait for
 * the writer: bounded memory), lookups from any thread, and the two background threads.
 */
public final class TxIndex implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TxIndex.class);

    /** Entries per page: 1,024 × 44 bytes. */
    static final int PAGE_ENTRIES = 1024;
    static final int ENTRY_BYTES = 32 + 8 + 4;
    /** Bloom filter bits per entry: ~0.5 % false positives with 7 probes. */
    static final int BLOOM_BITS_PER_ENTRY = 11;
    static final int MAX_FROZEN = 4;
    /** Pages written per database transaction while merging (a large merge is not one huge transaction). */
    static final int PAGES_PER_WRITE = 256;

    /** Where a committed transaction is. */
    public record Location(long height, int position) {
        static final Comparator<Location> ORDER = Comparator.comparingLong(Location::height).thenComparingInt(Location::position);
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final int memtableEntries;
    private final int memtableBlocks;
    private final int fanout;

    private final Object lock = new Object();
    /** What lookups search: replaced whole (under {@link #lock}) at each freeze, flush and merge. */
    private volatile View view;
    private Memtable active;
    private long nextRunId;
    private boolean closed;
    private boolean merging;
    private Thread flusher;
    private Thread compactor;

    /** An immutable snapshot of the searchable parts: memtables newest first, runs in any order. */
    private record View(List<Memtable> memtables, List<Run> runs) {
    }

    private static final class Memtable {
        final Map<String, Location> byId = new ConcurrentHashMap<>();
        long fromHeight;
        long toHeight;

        boolean covers() {
            return toHeight > 0;
        }
    }

    /** A run's metadata, held in memory; its pages stay in the database. */
    private record Run(long id, int level, long fromHeight, long toHeight, int entries, Bloom bloom, byte[][] fences) {
    }

    public TxIndex(JdbcTemplate jdbc, TransactionTemplate tx) {
        this(jdbc, tx, 65_536, 4_096, 8);
    }

    TxIndex(JdbcTemplate jdbc, TransactionTemplate tx, int memtableEntries, int memtableBlocks, int fanout) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.memtableEntries = memtableEntries;
        this.memtableBlocks = memtableBlocks;
        this.fanout = fanout;
    }

    // ---- opening --------------------------------------------------------------------------------------------

    /**
     * Loads the runs' metadata (removing what a crash left half done) and starts the background threads. Returns
     * the highest height the runs cover: the caller adds the committed blocks above it.
     */
    public long open() {
        synchronized (lock) {
            if (view != null) {
                throw new IllegalStateException("the transaction index is already open");
            }
            jdbc.update("DELETE FROM consensus_tx_run_page WHERE run_id NOT IN (SELECT run_id FROM consensus_tx_run)");
            List<Run> loaded = jdbc.query("SELECT run_id, level, from_height, to_height, entries, bloom, fences "
                    + "FROM consensus_tx_run ORDER BY level DESC, run_id", (rs, i) -> new Run(rs.getLong(1), rs.getInt(2),
                    rs.getLong(3), rs.getLong(4), rs.getInt(5), Bloom.decode(rs.getBytes(6)), decodeFences(rs.getBytes(7))));
            List<Run> kept = new ArrayList<>();
            for (Run r : loaded) {
                // the inputs of a merged run that were not deleted yet: covered by it, higher levels come first
                if (kept.stream().anyMatch(k -> k.fromHeight() <= r.fromHeight() && r.toHeight() <= k.toHeight())) {
                    deleteRuns(List.of(r));
                } else {
                    kept.add(r);
                }
            }
            nextRunId = kept.stream().mapToLong(Run::id).max().orElse(0) + 1;
            active = new Memtable();
            view = new View(List.of(active), List.copyOf(kept));
            flusher = Thread.ofPlatform().daemon().name("tx-index-writer").start(this::flushLoop);
            compactor = Thread.ofPlatform().daemon().name("tx-index-merger").start(this::compactLoop);
            long covered = kept.stream().mapToLong(Run::toHeight).max().orElse(0);
            log.info("transaction index: {} runs, {} entries, covering heights up to {}", kept.size(),
                    kept.stream().mapToLong(Run::entries).sum(), covered);
            return covered;
        }
    }

    @Override
    public void close() {
        Thread f;
        Thread c;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            f = flusher;
            c = compactor;
        }
        // no interrupt: a thread interrupted inside a database write would make H2 close its file channel; the
        // threads see the flag at their next wait, a write in progress finishes
        for (Thread t : new Thread[] {f, c}) {
            if (t != null) {
                try {
                    t.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    // ---- writing --------------------------------------------------------------------------------------------

    /**
     * Indexes committed blocks, in height order, after they are stored. Blocks until the writer has room (at most
     * {@value #MAX_FROZEN} frozen memtables wait for it).
     */
    public void add(List<Block> blocks) {
        if (blocks.isEmpty()) {
            return;
        }
        synchronized (lock) {
            requireOpen();
            for (Block b : blocks) {
                if (!active.covers()) {
                    active.fromHeight = b.height();
                }
                active.toHeight = b.height();
                for (int i = 0; i < b.txs().size(); i++) {
                    active.byId.putIfAbsent(b.txs().get(i).id(), new Location(b.height(), i));
                }
                if (active.byId.size() >= memtableEntries || active.toHeight - active.fromHeight + 1 >= memtableBlocks) {
                    freeze();
                }
            }
        }
    }

    /** Under the lock: the active memtable becomes frozen (still searched) and the writer is woken. */
    private void freeze() {
        while (view.memtables().size() > MAX_FROZEN && !closed) {
            try {
                lock.wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the transaction index writer catches up", e);
            }
        }
        requireOpen();
        active = new Memtable();
        List<Memtable> ms = new ArrayList<>(view.memtables().size() + 1);
        ms.add(active);
        ms.addAll(view.memtables());
        view = new View(List.copyOf(ms), view.runs());
        lock.notifyAll();
    }

    /** The writer: the oldest frozen memtable becomes a level-0 run, then it leaves the view. */
    private void flushLoop() {
        while (true) {
            Memtable m;
            long runId;
            synchronized (lock) {
                m = awaitWork(() -> view.memtables().size() < 2 ? null : view.memtables().get(view.memtables().size() - 1));
                if (m == null) {
                    return;
                }
                runId = nextRunId++;
            }
            try {
                List<Map.Entry<String, Location>> sorted = new ArrayList<>(m.byId.entrySet());
                sorted.sort(Map.Entry.comparingByKey()); // lowercase hex sorts as the bytes do
                Run run = write(runId, 0, m.fromHeight, m.toHeight, sorted.size(), new EntryIterator() {
                    int i;

                    @Override
                    public byte[] next() {
                        if (i == sorted.size()) {
                            return null;
                        }
                        Map.Entry<String, Location> e = sorted.get(i++);
                        return entry(e.getKey(), e.getValue());
                    }
                });
                synchronized (lock) {
                    List<Memtable> ms = new ArrayList<>(view.memtables());
                    ms.remove(m);
                    List<Run> rs = new ArrayList<>(view.runs());
                    rs.add(run);
                    view = new View(List.copyOf(ms), List.copyOf(rs));
                    lock.notifyAll();
                }
            } catch (RuntimeException e) {
                if (!retryLater("writing", runId, e)) {
                    return;
                }
            }
        }
    }

    /** The merger: whenever {@code fanout} runs share a level, they become one run of the next level. */
    private void compactLoop() {
        while (true) {
            List<Run> inputs;
            long runId;
            synchronized (lock) {
                inputs = awaitWork(this::mergeable);
                if (inputs == null) {
                    return;
                }
                runId = nextRunId++;
                merging = true;
            }
            try {
                merge(runId, inputs);
            } catch (RuntimeException e) {
                if (!retryLater("merging into", runId, e)) {
                    return;
                }
            } finally {
                synchronized (lock) {
                    merging = false;
                    lock.notifyAll();
                }
            }
        }
    }

    /**
     * Under the lock: waits until {@code work} finds something to do (evaluated under the lock at each wake-up) and
     * returns it; null once the index is closed or the thread interrupted (the background thread then ends).
     */
    private <T> T awaitWork(Supplier<T> work) {
        T w = null;
        while (!closed && (w = work.get()) == null) {
            try {
                lock.wait();
            } catch (InterruptedException e) {
                return null;
            }
        }
        return closed ? null : w;
    }

    /** Under the lock: the {@code fanout} oldest runs of the lowest level that has that many, or null. */
    private List<Run> mergeable() {
        Map<Integer, List<Run>> byLevel = new java.util.TreeMap<>();
        for (Run r : view.runs()) {
            byLevel.computeIfAbsent(r.level(), k -> new ArrayList<>()).add(r);
        }
        for (List<Run> rs : byLevel.values()) {
            if (rs.size() >= fanout) {
                rs.sort(Comparator.comparingLong(Run::id));
                return List.copyOf(rs.subList(0, fanout));
            }
        }
        return null;
    }

    private void merge(long runId, List<Run> inputs) {
        List<PageCursor> cursors = new ArrayList<>();
        long entries = 0;
        for (Run r : inputs) {
            cursors.add(new PageCursor(r));
            entries += r.entries();
        }
        if (entries > Integer.MAX_VALUE / 2) {
            throw new IllegalStateException("a merged run would hold " + entries + " entries");
        }
        java.util.PriorityQueue<PageCursor> heap = new java.util.PriorityQueue<>((a, b) -> compareEntries(a.head, b.head));
        for (PageCursor c : cursors) {
            if (c.advance()) {
                heap.add(c);
            }
        }
        Run merged = write(runId, inputs.stream().mapToInt(Run::level).max().orElse(0) + 1,
                inputs.stream().mapToLong(Run::fromHeight).min().orElse(0),
                inputs.stream().mapToLong(Run::toHeight).max().orElse(0), (int) entries, new EntryIterator() {
                    byte[] last;

                    @Override
                    public byte[] next() {
                        while (!heap.isEmpty()) {
                            PageCursor c = heap.poll();
                            byte[] e = c.head;
                            if (c.advance()) {
                                heap.add(c);
                            }
                            // one id twice (a faulty leader ordered it twice): entries sort by id, then height
                            if (last == null || !Arrays.equals(e, 0, 32, last, 0, 32)) {
                                last = e;
                                return e;
                            }
                        }
                        return null;
                    }
                });
        synchronized (lock) {
            List<Run> rs = new ArrayList<>(view.runs());
            rs.removeAll(inputs);
            rs.add(merged);
            view = new View(view.memtables(), List.copyOf(rs));
            lock.notifyAll();
        }
        // a lookup that still holds the old view and finds a page gone tries again with the new one
        deleteRuns(inputs);
    }

    /** A source of sorted entries; null at the end. */
    private interface EntryIterator {
        byte[] next();
    }

    /**
     * Writes a run: its pages (a large run in several transactions), then its row, which makes it exist (pages
     * without a row are orphans, removed on open).
     */
    private Run write(long runId, int level, long fromHeight, long toHeight, int maxEntries, EntryIterator entries) {
        Bloom bloom = Bloom.forEntries(maxEntries);
        List<byte[]> fences = new ArrayList<>();
        List<Object[]> batch = new ArrayList<>();
        ByteBuffer page = ByteBuffer.allocate(PAGE_ENTRIES * ENTRY_BYTES);
        int count = 0;
        for (byte[] e = entries.next(); e != null; e = entries.next()) {
            if (page.position() == 0) {
                fences.add(Arrays.copyOf(e, 32));
            }
            page.put(e);
            bloom.add(e);
            count++;
            if (!page.hasRemaining()) {
                batch.add(new Object[] {runId, fences.size() - 1, page.array().clone()});
                page.clear();
                if (batch.size() == PAGES_PER_WRITE) {
                    List<Object[]> full = batch;
                    tx.executeWithoutResult(s -> insertPages(full));
                    batch = new ArrayList<>();
                }
            }
        }
        if (page.position() > 0) {
            batch.add(new Object[] {runId, fences.size() - 1, Arrays.copyOf(page.array(), page.position())});
        }
        List<Object[]> rest = batch;
        int entryCount = count;
        byte[][] fenceArray = fences.toArray(new byte[0][]);
        tx.executeWithoutResult(s -> {
            insertPages(rest);
            jdbc.update("INSERT INTO consensus_tx_run (run_id, level, from_height, to_height, entries, bloom, fences) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?)", runId, level, fromHeight, toHeight, entryCount, bloom.encode(),
                    encodeFences(fenceArray));
        });
        return new Run(runId, level, fromHeight, toHeight, entryCount, bloom, fenceArray);
    }

    private void insertPages(List<Object[]> pages) {
        if (!pages.isEmpty()) {
            jdbc.batchUpdate("INSERT INTO consensus_tx_run_page (run_id, page_no, data) VALUES (?, ?, ?)", pages);
        }
    }

    private void deleteRuns(List<Run> runs) {
        tx.executeWithoutResult(s -> {
            for (Run r : runs) {
                jdbc.update("DELETE FROM consensus_tx_run_page WHERE run_id = ?", r.id());
                jdbc.update("DELETE FROM consensus_tx_run WHERE run_id = ?", r.id());
            }
        });
    }

    // ---- reading --------------------------------------------------------------------------------------------

    /** Where the transaction was committed first, if it was (a 64-hex id). */
    public Optional<Location> find(String txId) {
        byte[] id = HexFormat.of().parseHex(txId);
        for (int attempt = 0; ; attempt++) {
            View v = view;
            if (v == null) {
                throw new IllegalStateException("the transaction index is not open");
            }
            Location best = null;
            for (Memtable m : v.memtables()) {
                best = min(best, m.byId.get(txId));
            }
            boolean stale = false;
            for (Run r : v.runs()) {
                if (!r.bloom().mightContain(id)) {
                    continue;
                }
                Optional<Location> hit = search(r, id);
                if (hit == null) {
                    stale = true; // merged and deleted meanwhile
                    break;
                }
                best = min(best, hit.orElse(null));
            }
            if (!stale || attempt == 8) {
                return Optional.ofNullable(best);
            }
        }
    }

    public boolean contains(String txId) {
        return find(txId).isPresent();
    }

    /** The id's entry in a run; null when the run's page is gone (merged). */
    private Optional<Location> search(Run r, byte[] id) {
        int lo = 0;
        int hi = r.fences().length - 1;
        int pageNo = -1;
        while (lo <= hi) { // the last page whose first id <= id
            int mid = (lo + hi) >>> 1;
            if (Arrays.compareUnsigned(r.fences()[mid], id) <= 0) {
                pageNo = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (pageNo < 0) {
            return Optional.empty();
        }
        byte[] data = readPage(r.id(), pageNo);
        if (data == null) {
            return null;
        }
        ByteBuffer page = ByteBuffer.wrap(data);
        int n = page.capacity() / ENTRY_BYTES;
        lo = 0;
        hi = n - 1;
        while (lo <= hi) { // entries of one id are adjacent, the first place first
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(page.array(), mid * ENTRY_BYTES, mid * ENTRY_BYTES + 32, id, 0, 32);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return Optional.of(new Location(page.getLong(mid * ENTRY_BYTES + 32), page.getInt(mid * ENTRY_BYTES + 40)));
            }
        }
        return Optional.empty();
    }

    /** For tests and benchmarks: runs per level, memtables. */
    public String shape() {
        View v = view;
        Map<Integer, Integer> levels = new java.util.TreeMap<>();
        v.runs().forEach(r -> levels.merge(r.level(), 1, Integer::sum));
        return "runs by level " + levels + ", memtables " + v.memtables().size();
    }

    /** Waits (bounded) until no frozen memtable and no merge is pending or running (tests, benchmarks). */
    public boolean quiesce(long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        synchronized (lock) {
            while (view.memtables().size() > 1 || merging || mergeable() != null) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                lock.wait(left);
            }
            return true;
        }
    }

    // ---- encoding -------------------------------------------------------------------------------------------

    private static byte[] entry(String id, Location at) {
        return ByteBuffer.allocate(ENTRY_BYTES).put(HexFormat.of().parseHex(id)).putLong(at.height()).putInt(at.position())
                .array();
    }

    /** By id, then height and position (big-endian, non-negative): the first place of an id comes first. */
    private static int compareEntries(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }

    private static Location min(Location a, Location b) {
        if (a == null) {
            return b;
        }
        return b == null || Location.ORDER.compare(a, b) <= 0 ? a : b;
    }

    private static byte[] encodeFences(byte[][] fences) {
        ByteBuffer b = ByteBuffer.allocate(fences.length * 32);
        for (byte[] f : fences) {
            b.put(f);
        }
        return b.array();
    }

    private static byte[][] decodeFences(byte[] data) {
        byte[][] out = new byte[data.length / 32][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(data, i * 32, i * 32 + 32);
        }
        return out;
    }

    private void requireOpen() {
        if (view == null || closed) {
            throw new IllegalStateException("the transaction index is not open");
        }
    }

    /**
     * After a failed write or merge (on its thread): logs it and waits a second (woken early by close). False when
     * the index is closed or closing, and the thread should end.
     */
    private boolean retryLater(String doing, long runId, RuntimeException e) {
        synchronized (lock) {
            if (closed) {
                return false;
            }
            log.error("transaction index: {} run {} failed; trying again in 1 s", doing, runId, e);
            try {
                lock.wait(1_000);
            } catch (InterruptedException interrupted) {
                return false;
            }
            return !closed;
        }
    }

    /** A page of a run; null when it is not there (its run was merged and deleted). */
    private byte[] readPage(long runId, int pageNo) {
        List<byte[]> rows = jdbc.query("SELECT data FROM consensus_tx_run_page WHERE run_id = ? AND page_no = ?",
                (rs, i) -> rs.getBytes(1), runId, pageNo);
        return rows.isEmpty() ? null : rows.get(0);
    }

    /** Reads a run's entries in order, one page at a time. */
    private final class PageCursor {
        private final Run run;
        private int pageNo;
        private ByteBuffer page;
        byte[] head;

        PageCursor(Run run) {
            this.run = run;
        }

        boolean advance() {
            while (page == null || !page.hasRemaining()) {
                if (pageNo >= run.fences().length) {
                    head = null;
                    return false;
                }
                int p = pageNo++;
                byte[] data = readPage(run.id(), p);
                if (data == null) {
                    throw new IllegalStateException("run " + run.id() + " lost its page " + p);
                }
                page = ByteBuffer.wrap(data);
            }
            head = new byte[ENTRY_BYTES];
            page.get(head);
            return true;
        }
    }

    /**
     * A Bloom filter over ids (SHA-256 hashes, so their own bytes are the hash functions: double hashing from the
     * first two 64-bit words).
     */
    static final class Bloom {
        private static final int PROBES = 7;
        private final long[] bits;

        private Bloom(long[] bits) {
            this.bits = bits;
        }

        static Bloom forEntries(int entries) {
            long m = Math.max(64L, (long) entries * BLOOM_BITS_PER_ENTRY);
            return new Bloom(new long[(int) ((m + 63) / 64)]);
        }

        void add(byte[] idOrEntry) {
            long h1 = word(idOrEntry, 0);
            long h2 = word(idOrEntry, 8) | 1;
            long m = (long) bits.length * 64;
            for (int i = 0; i < PROBES; i++) {
                long bit = Long.remainderUnsigned(h1 + i * h2, m);
                bits[(int) (bit >>> 6)] |= 1L << bit;
            }
        }

        boolean mightContain(byte[] id) {
            long h1 = word(id, 0);
            long h2 = word(id, 8) | 1;
            long m = (long) bits.length * 64;
            for (int i = 0; i < PROBES; i++) {
                long bit = Long.remainderUnsigned(h1 + i * h2, m);
                if ((bits[(int) (bit >>> 6)] & (1L << bit)) == 0) {
                    return false;
                }
            }
            return true;
        }

        private static long word(byte[] b, int off) {
            return ByteBuffer.wrap(b, off, 8).getLong();
        }

        byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(bits.length * 8);
            b.asLongBuffer().put(bits);
            return b.array();
        }

        static Bloom decode(byte[] data) {
            long[] bits = new long[data.length / 8];
            ByteBuffer.wrap(data).asLongBuffer().get(bits);
            return new Bloom(bits);
        }
    }
}
