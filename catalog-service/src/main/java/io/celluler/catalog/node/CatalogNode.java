package io.celluler.catalog.node;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.security.SecureRandom;

import io.celluler.catalog.config.CatalogProperties;
import io.celluler.catalog.engine.CatalogReplica;
import io.celluler.catalog.engine.CatalogReplica.Change;
import io.celluler.catalog.engine.CatalogReplica.ChangeKind;
import io.celluler.catalog.engine.DotContext;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.engine.EntryState;
import io.celluler.catalog.store.CatalogStore;
import io.celluler.catalog.replication.CatalogNetwork;
import io.celluler.catalog.store.CatalogStore.ChangeRow;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The one owner of this cell's {@link CatalogReplica}. Writes (local changes, gossip and anti-entropy from other
 * cells, collection) are commands queued to one writer thread, which applies a batch of them to the replica and
 * writes everything they changed in one transaction before any of them is answered: group commit, so concurrent
 * writers share a commit. A command that fails (unknown entry) fails alone; a transaction that fails fails its batch
 * and the replica is loaded again from the database, so memory never runs ahead of what is durable. Reads run under
 * a read lock, between batches.
 */
@Component
public class CatalogNode implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(CatalogNode.class);
    /** Changes between two trims of the change feed. */
    private static final int TRIM_EVERY = 1_000;

    /** A write: applies itself to the replica, adds the changes it made to {@code changes}, answers a value. */
    @FunctionalInterface
    public interface Write<T> {
        T apply(CatalogReplica replica, List<Change> changes);
    }

    private record Command<T>(Write<T> write, CompletableFuture<T> done) {
    }

    private final CatalogProperties props;
    private final CatalogStore store;
    private final TransactionTemplate tx;
    private final CatalogNetwork cellIds;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final BlockingQueue<Command<?>> queue;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final Counter commits;
    private final Counter commands;
    private final SecureRandom random = new SecureRandom();
    private volatile CatalogReplica replica;
    private volatile long lastChangeNo;
    private long persistedSeq;
    /** The peer rows as last written: a commit writes only those that changed. */
    private Map<String, CatalogStore.PeerRow> persistedPeers = Map.of();
    private long trimmedAt;
    private volatile Thread writer;
    private volatile boolean running;

    public CatalogNode(CatalogProperties props, CatalogStore store, TransactionTemplate tx, CatalogNetwork cellIds,
            MeterRegistry meters) {
        this.props = props;
        this.store = store;
        this.tx = tx;
        this.cellIds = cellIds;
        this.queue = new ArrayBlockingQueue<>(Math.max(1_024, props.maxBatch() * 8));
        this.commits = meters.counter("celluler.catalog.commits");
        this.commands = meters.counter("celluler.catalog.writes");
        meters.gauge("celluler.catalog.entries", this, n -> n.replica == null ? 0 : n.replica.entries().size());
        meters.gauge("celluler.catalog.log.dropped", this, n -> n.replica == null ? 0 : n.replica.droppedFromLog());
    }

    // ---- writing ------------------------------------------------------------------------------------------------

    /**
     * Runs {@code write} on the writer thread and answers its value once what it changed is durable.
     *
     * @throws io.grpc.StatusRuntimeException UNAVAILABLE when the service is not ready or the queue is full,
     *                                        whatever the write threw otherwise
     */
    public <T> T write(Write<T> write) {
        CompletableFuture<T> done = submit(write);
        try {
            return done.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw Status.INTERNAL.withCause(e.getCause()).asRuntimeException();
        } catch (TimeoutException e) {
            throw Status.UNAVAILABLE.withDescription("the catalog did not commit within 60 s").asRuntimeException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
        }
    }

    /** Queues {@code write}; the future completes once what it changed is durable. */
    public <T> CompletableFuture<T> submit(Write<T> write) {
        requireReady();
        CompletableFuture<T> done = new CompletableFuture<>();
        if (!queue.offer(new Command<>(write, done))) {
            throw Status.UNAVAILABLE.withDescription("the catalog's write queue is full; retry").asRuntimeException();
        }
        return done;
    }

    /** Reads the replica between batches. The value must not keep references into the replica. */
    public <T> T read(Function<CatalogReplica, T> read) {
        requireReady();
        lock.readLock().lock();
        try {
            return read.apply(replica);
        } finally {
            lock.readLock().unlock();
        }
    }

    private void requireReady() {
        if (replica == null || !running) {
            throw Status.UNAVAILABLE.withDescription("catalog-service is starting"
                    + (props.replication().networked() ? " (waiting for network-service to name this cell)" : ""))
                    .asRuntimeException();
        }
    }

    public boolean ready() {
        return replica != null && running;
    }

    /** A fresh entry id: 128 random bits in hex. */
    public String newEntryId() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Runs {@code listener} after each commit that changed what readers see (it must not block). */
    public Runnable listen(Runnable listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** The number of the newest change in the change feed. */
    public long lastChangeNo() {
        return lastChangeNo;
    }

    public CatalogStore store() {
        return store;
    }

    private void runWriter() {
        List<Command<?>> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Command<?> first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, props.maxBatch() - 1);
                commit(batch);
            } catch (InterruptedException e) {
                if (!running) {
                    break;
                }
            } catch (RuntimeException e) {
                log.error("catalog writer: a batch failed", e);
            } finally {
                batch.clear();
            }
        }
        for (Command<?> c; (c = queue.poll()) != null; ) {
            c.done().completeExceptionally(Status.UNAVAILABLE.withDescription("catalog-service is stopping")
                    .asRuntimeException());
        }
    }

    private void commit(List<Command<?>> batch) {
        List<Object> values = new ArrayList<>(batch.size());
        List<Throwable> failures = new ArrayList<>(batch.size());
        List<Change> changes = new ArrayList<>();
        List<byte[]> shown = new ArrayList<>();
        boolean notify;
        boolean discard = false;
        lock.writeLock().lock();
        try {
            for (Command<?> c : batch) {
                int before = changes.size();
                try {
                    values.add(c.write().apply(replica, changes));
                    failures.add(null);
                } catch (RuntimeException e) {
                    // engine writes check before they change, so a write that throws changed nothing; should one
                    // have changed entries all the same, the replica is loaded again below (nothing half-written)
                    discard |= changes.size() > before;
                    changes.subList(before, changes.size()).clear();
                    values.add(null);
                    failures.add(e);
                }
                // what the change feed shows: the entry as this command left it
                for (int k = shown.size(); k < changes.size(); k++) {
                    shown.add(shownBytes(changes.get(k)));
                }
            }
            try {
                notify = persist(changes, shown);
                if (discard) {
                    reload();
                }
            } catch (RuntimeException e) {
                log.error("catalog: writing a batch of {} commands failed; loading the replica again", batch.size(), e);
                reload();
                RuntimeException unavailable = Status.UNAVAILABLE.withDescription("the catalog could not write: "
                        + e.getMessage()).withCause(e).asRuntimeException();
                batch.forEach(c -> c.done().completeExceptionally(unavailable));
                return;
            }
        } finally {
            lock.writeLock().unlock();
        }
        commits.increment();
        commands.increment(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            complete(batch.get(i), values.get(i), failures.get(i));
        }
        if (notify) {
            listeners.forEach(Runnable::run);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> void complete(Command<T> c, Object value, Throwable failure) {
        if (failure != null) {
            c.done().completeExceptionally(failure);
        } else {
            c.done().complete((T) value);
        }
    }

    /** The change feed's record of a change readers see (null for one they do not). */
    private static byte[] shownBytes(Change c) {
        return switch (c.kind()) {
            case CREATED, UPDATED -> EntryCodec.encode(c.entry()).toByteArray();
            case DELETED -> EntryCodec.encode(c.lastVisible()).toByteArray();
            default -> null;
        };
    }

    /** Writes what the batch changed in one transaction; answers whether readers see a change. */
    private boolean persist(List<Change> changes, List<byte[]> shown) {
        CatalogReplica r = replica;
        Map<String, EntryState> put = new LinkedHashMap<>();
        List<String> removed = new ArrayList<>();
        List<ChangeRow> rows = new ArrayList<>();
        Instant now = Instant.now();
        long no = lastChangeNo;
        for (int i = 0; i < changes.size(); i++) {
            Change c = changes.get(i);
            if (c.kind() == ChangeKind.COLLECTED) {
                put.remove(c.entryId());
                removed.add(c.entryId());
                continue;
            }
            removed.remove(c.entryId());
            put.put(c.entryId(), c.entry());
            int kind = switch (c.kind()) {
                case CREATED -> 1;
                case UPDATED -> 2;
                case DELETED -> 3;
                default -> 0;
            };
            if (kind != 0) {
                rows.add(new ChangeRow(++no, c.entryId(), kind, shown.get(i), now));
            }
        }
        long lastNo = no;
        Map<Long, EntryState> newLog = new LinkedHashMap<>(r.log().tailMap(persistedSeq + 1));
        long keepFrom = r.log().isEmpty() ? r.seq() + 1 : r.log().firstKey();
        Map<String, CatalogStore.PeerRow> peers = peerRows(r);
        Map<String, CatalogStore.PeerRow> changedPeers = new LinkedHashMap<>();
        peers.forEach((cell, row) -> {
            if (!row.equals(persistedPeers.get(cell))) {
                changedPeers.put(cell, row);
            }
        });
        List<String> gonePeers = persistedPeers.keySet().stream().filter(c -> !peers.containsKey(c)).toList();
        tx.executeWithoutResult(s -> {
            store.putEntries(put.values());
            store.removeEntries(removed);
            store.appendLog(newLog, keepFrom);
            store.putReplica(r.self(), r.seq(), r.knowledge());
            store.putPeers(changedPeers);
            store.removePeers(gonePeers);
            store.addChanges(rows);
            if (lastNo - trimmedAt >= TRIM_EVERY) {
                store.trimChanges(lastNo - props.changeRetention() + 1);
            }
        });
        if (lastNo - trimmedAt >= TRIM_EVERY) {
            trimmedAt = lastNo;
        }
        persistedSeq = r.seq();
        persistedPeers = peers;
        lastChangeNo = lastNo;
        return !rows.isEmpty();
    }

    /** Every other member's row: acknowledgement (0: none yet) and report, copied. */
    private static Map<String, CatalogStore.PeerRow> peerRows(CatalogReplica r) {
        Map<String, Map<String, Long>> reports = r.reports();
        Map<String, Long> acked = r.acked();
        Map<String, CatalogStore.PeerRow> rows = new java.util.TreeMap<>();
        java.util.Set<String> cells = new java.util.TreeSet<>(r.members());
        cells.addAll(reports.keySet());
        cells.remove(r.self());
        for (String cell : cells) {
            rows.put(cell, new CatalogStore.PeerRow(acked.getOrDefault(cell, 0L),
                    Map.copyOf(reports.getOrDefault(cell, Map.of()))));
        }
        return rows;
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    private void reload() {
        CatalogStore.Loaded l = tx.execute(s -> store.load());
        CatalogReplica fresh = new CatalogReplica(l.cellId(), props.maxClockDriftMs(), props.maxLogChanges());
        fresh.restore(l.entries(), l.seq(), l.knowledge(), l.log(), l.acked(), l.reports(), System.currentTimeMillis());
        persistedSeq = l.seq();
        persistedPeers = peerRows(fresh);
        lastChangeNo = l.lastChangeNo();
        trimmedAt = lastChangeNo;
        replica = fresh;
    }

    /** Loads the replica as cell {@code id} (written first when the replica is new). */
    private void open(String id, boolean isNew) {
        if (isNew) {
            tx.executeWithoutResult(s -> store.putReplica(id, 0, new DotContext()));
            log.info("catalog: this replica writes as cell {}", id);
        } else {
            cellIds.checkCellId(id);
        }
        lock.writeLock().lock();
        try {
            reload();
        } finally {
            lock.writeLock().unlock();
        }
        log.info("catalog: loaded {} entries ({} tombstones), change {} of cell {}", replica.liveCount(),
                replica.tombstoneCount(), replica.seq(), replica.self());
    }

    /**
     * Loads the replica and starts the writer. A new replica of a networked cell waits (on the writer thread) for
     * network-service to name the cell; meanwhile calls answer UNAVAILABLE.
     */
    @Override
    public void start() {
        running = true;
        String stored = store.cellId();
        boolean waitForId = stored == null && props.replication().networked();
        if (!waitForId) {
            open(stored != null ? stored : cellIds.awaitCellId(() -> true), stored == null);
        }
        Thread t = Thread.ofPlatform().name("catalog-writer").daemon(true).unstarted(() -> {
            if (waitForId) {
                String id = cellIds.awaitCellId(() -> running);
                if (id == null) {
                    return;
                }
                try {
                    open(id, true);
                } catch (RuntimeException e) {
                    log.error("catalog: the replica could not be loaded", e);
                    return;
                }
            }
            runWriter();
        });
        writer = t;
        t.start();
    }

    @Override
    public void stop() {
        running = false;
        Thread t = writer;
        if (t != null) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Before the replication loops (which need the replica) and after the database. */
    @Override
    public int getPhase() {
        return 0;
    }
}
