package io.celluler.state.snapshot;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.google.protobuf.ByteString;
import io.celluler.core.hash.Sha256;
import io.celluler.core.smt.SparseMerkle;
import io.celluler.proto.state.v1.RootAnswer;
import io.celluler.proto.state.v1.RootQuery;
import io.celluler.proto.state.v1.SnapshotChunk;
import io.celluler.proto.state.v1.SnapshotChunkQuery;
import io.celluler.proto.state.v1.SnapshotEntry;
import io.celluler.proto.state.v1.SnapshotHeader;
import io.celluler.proto.state.v1.SnapshotInfo;
import io.celluler.proto.state.v1.SnapshotQuery;
import io.celluler.proto.state.v1.StatePeerRequest;
import io.celluler.proto.state.v1.StatePeerResponse;
import io.celluler.state.config.StateProperties;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import io.celluler.state.node.StateNode;
import io.celluler.state.node.StateNode.Head;
import io.celluler.state.replication.StatePeers;
import io.celluler.state.store.StateStore;
import io.celluler.state.store.StateStore.HeightRow;
import io.celluler.state.store.StateStore.LiveKey;
import io.celluler.state.store.StateStore.SnapshotRow;
import io.celluler.state.store.TreeStore;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Snapshots of the whole state at a height, and catch-up from them. A snapshot is a file (layout:
 * {@code SnapshotHeader} in peer.proto) of every live key with its value at that height, written only after the
 * entries were checked to rebuild that height's root, then recorded with the SHA-256 of its bytes; one is taken at
 * every multiple of {@code snapshot-interval-heights} and on request, and the newest {@code snapshot-retain} are kept. Other
 * cells fetch them in pieces through network-service.
 *
 * <p>A state-service that is more than {@code snapshot-catch-up-blocks} behind consensus restores the newest snapshot
 * another cell offers instead of replaying every block, if that snapshot's root is confirmed: at least one more cell
 * reports the same root at that height and none reports another. The content is checked against its SHA-256 and
 * must rebuild the confirmed root before anything is written; then the state machine follows on from that height.
 */
public class Snapshots implements SmartLifecycle, StateNode.CatchUp {

    private static final Logger log = LoggerFactory.getLogger(Snapshots.class);
    static final int CHUNK_BYTES = 1 << 20;

    private final StateProperties props;
    private final StateNode node;
    private final StateStore store;
    private final TreeStore trees;
    private final StatePeers peers;
    private final Path dir;
    private final Counter taken;
    private final Counter restored;
    private final ExecutorService background = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("state-snapshots").daemon(true).factory());
    private final java.util.concurrent.atomic.AtomicBoolean scheduled = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile long lastTaken;
    private volatile boolean running;
    /** Set by {@link #stop}; a catch-up may run before {@link #start} (the applier starts first). */
    private volatile boolean stopped;
    private Runnable unlisten = () -> { };

    public Snapshots(StateProperties props, StateNode node, StateStore store, TreeStore trees, StatePeers peers,
            MeterRegistry meters) {
        this.props = props;
        this.node = node;
        this.store = store;
        this.trees = trees;
        this.peers = peers;
        this.dir = props.dataDir().resolve("snapshots");
        this.taken = Counter.builder("celluler.state.snapshots.taken").register(meters);
        this.restored = Counter.builder("celluler.state.snapshots.restored")
                .description("catch-ups from another cell's snapshot").register(meters);
    }

    Path file(long height) {
        return dir.resolve(height + ".snap");
    }

    // ---- taking snapshots ---------------------------------------------------------------------------------------

    /** The snapshot of the state at {@code row}'s height: the one held, or a new one. */
    public synchronized SnapshotRow create(HeightRow row) {
        SnapshotRow held = store.snapshot(row.height());
        if (held != null) {
            return held;
        }
        long t0 = System.nanoTime();
        List<LiveKey> keys = new ArrayList<>();
        store.liveKeys(row.height(), keys::add);
        TreeMap<ByteBuffer, byte[]> leaves = new TreeMap<>();
        for (LiveKey k : keys) {
            leaves.put(ByteBuffer.wrap(SparseMerkle.path(k.namespace(), k.key().getBytes(StandardCharsets.UTF_8))),
                    k.valueHash());
        }
        byte[] rebuilt = new SparseMerkleTree(new SparseMerkleTree.MemoryStore())
                .update(SparseMerkleTree.emptyRoot(), leaves);
        if (!Arrays.equals(rebuilt, row.root())) {
            throw new IllegalStateException("the keys recorded at height " + row.height() + " rebuild root "
                    + Sha256.hex(rebuilt) + ", not the applied " + Sha256.hex(row.root()) + ": no snapshot taken");
        }
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(row.height() + ".snap.tmp");
            MessageDigest sha = Sha256.newDigest();
            try (FileOutputStream fos = new FileOutputStream(tmp.toFile());
                    OutputStream out = new DigestOutputStream(new BufferedOutputStream(fos, 1 << 16), sha)) {
                SnapshotHeader.newBuilder().setHeight(row.height()).setRoot(ByteString.copyFrom(row.root()))
                        .setBlockHash(row.blockHash()).setKeyCount(keys.size()).build().writeDelimitedTo(out);
                for (LiveKey k : keys) {
                    byte[] value = trees.value(k.valueHash());
                    if (value == null) {
                        throw new IllegalStateException("value " + Sha256.hex(k.valueHash()) + " is not in the store");
                    }
                    SnapshotEntry.newBuilder().setNamespace(k.namespace()).setKey(k.key())
                            .setValue(ByteString.copyFrom(value)).build().writeDelimitedTo(out);
                }
                out.flush();
                fos.getFD().sync();
            }
            long size = Files.size(tmp);
            Files.move(tmp, file(row.height()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            SnapshotRow s = new SnapshotRow(row.height(), row.root(), row.blockHash(), Sha256.hex(sha.digest()), size,
                    keys.size(), Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS));
            store.addSnapshot(s);
            lastTaken = Math.max(lastTaken, row.height());
            taken.increment();
            prune();
            log.info("state: snapshot at height {} ({} keys, {} bytes) in {} ms", row.height(), keys.size(), size,
                    (System.nanoTime() - t0) / 1_000_000);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot at height " + row.height() + ": " + e.getMessage(), e);
        }
    }

    /** Keeps the newest {@code snapshot-retain} snapshots. */
    private void prune() throws IOException {
        List<SnapshotRow> all = store.snapshots(0, Integer.MAX_VALUE);
        for (int i = props.snapshotRetain(); i < all.size(); i++) {
            store.removeSnapshot(all.get(i).height());
            Files.deleteIfExists(file(all.get(i).height()));
        }
    }

    /**
     * After a commit: a snapshot at each multiple of {@code snapshot-interval-heights} (the newest one reached, when a
     * group commit passed several). Every cell takes them at the same heights, and equal states make equal bytes.
     */
    private void maybeTake() {
        long every = props.snapshotIntervalHeights();
        if (every == 0) {
            return;
        }
        long head = node.head().height();
        long target = head - head % every;
        if (target > lastTaken && scheduled.compareAndSet(false, true)) {
            background.execute(() -> {
                try {
                    HeightRow row = store.height(target);
                    if (running && row != null) {
                        create(row);
                    }
                } catch (RuntimeException e) {
                    log.error("state: the snapshot at height {} failed", target, e);
                } finally {
                    scheduled.set(false);
                }
                if (running && lastTaken >= target) {
                    maybeTake(); // commits during this one may have passed the next multiple
                }
            });
        }
    }

    // ---- serving other cells ------------------------------------------------------------------------------------

    private StatePeerResponse latest(String from, StatePeerRequest request) {
        List<SnapshotRow> newest = store.snapshots(0, 1);
        SnapshotInfo.Builder info = SnapshotInfo.newBuilder();
        if (!newest.isEmpty()) {
            SnapshotRow s = newest.getFirst();
            info.setExists(true).setHeight(s.height()).setRoot(Sha256.hex(s.root())).setBlockHash(s.blockHash())
                    .setContentSha256(s.contentSha256()).setSizeBytes(s.sizeBytes()).setKeyCount(s.keyCount());
        }
        return StatePeerResponse.newBuilder().setSnapshot(info).build();
    }

    private StatePeerResponse chunk(String from, StatePeerRequest request) {
        SnapshotChunkQuery q = request.getSnapshotChunk();
        SnapshotRow s = store.snapshot(q.getHeight());
        if (s == null) {
            throw Status.NOT_FOUND.withDescription("no snapshot at height " + q.getHeight()).asRuntimeException();
        }
        if (q.getOffset() > s.sizeBytes() || q.getLength() == 0 || q.getLength() > CHUNK_BYTES) {
            throw Status.INVALID_ARGUMENT.withDescription("offset within the content and length 1 to " + CHUNK_BYTES)
                    .asRuntimeException();
        }
        int n = (int) Math.min(q.getLength(), s.sizeBytes() - q.getOffset());
        byte[] data = new byte[n];
        try (RandomAccessFile f = new RandomAccessFile(file(q.getHeight()).toFile(), "r")) {
            f.seek(q.getOffset());
            f.readFully(data);
        } catch (IOException e) {
            throw Status.UNAVAILABLE.withDescription("snapshot " + q.getHeight() + " unreadable: " + e.getMessage())
                    .asRuntimeException();
        }
        return StatePeerResponse.newBuilder().setChunk(SnapshotChunk.newBuilder().setData(ByteString.copyFrom(data))
                .setLast(q.getOffset() + n >= s.sizeBytes())).build();
    }

    // ---- catching up from another cell's snapshot ---------------------------------------------------------------

    @Override
    public Head catchUp(Head head, long committed) {
        long threshold = props.snapshotCatchUpBlocks();
        if (peers.alone() || threshold == 0 || committed - head.height() <= threshold) {
            return head;
        }
        SnapshotInfo best = null;
        String source = null;
        List<String> cells = livePeers();
        for (String cell : cells) {
            try {
                SnapshotInfo s = peers.call(cell, StatePeerRequest.newBuilder()
                        .setLatestSnapshot(SnapshotQuery.getDefaultInstance()).build()).getSnapshot();
                if (s.getExists() && s.getHeight() > head.height() + threshold
                        && (best == null || s.getHeight() > best.getHeight())) {
                    best = s;
                    source = cell;
                }
            } catch (StatusRuntimeException e) {
                log.debug("state: cell {} offered no snapshot: {}", cell, e.getStatus());
            }
        }
        if (best == null) {
            log.info("state: {} blocks behind, no cell offers a snapshot beyond height {}: replaying",
                    committed - head.height(), head.height() + threshold);
            return head;
        }
        if (!confirmed(best, source, cells)) {
            return head;
        }
        try {
            return restore(head, best, source);
        } catch (IOException | RuntimeException e) {
            trees.discard();
            log.error("state: restoring cell {}'s snapshot at height {} failed ({}): replaying instead", source,
                    best.getHeight(), e.getMessage());
            return head;
        }
    }

    /** The other cells, waiting up to 10 s for membership to name some (a cell just started knows no one yet). */
    private List<String> livePeers() {
        for (int i = 0; i < 20 && !stopped; i++) {
            try {
                List<String> cells = peers.peers();
                if (!cells.isEmpty()) {
                    return cells;
                }
            } catch (StatusRuntimeException notYet) {
                // network-service is starting
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return List.of();
    }

    /** At least one more cell has the offered root at that height, and none has another. */
    private boolean confirmed(SnapshotInfo offer, String source, List<String> cells) {
        int agreeing = 1;
        for (String cell : cells) {
            if (cell.equals(source)) {
                continue;
            }
            try {
                RootAnswer a = peers.call(cell, StatePeerRequest.newBuilder()
                        .setRoot(RootQuery.newBuilder().setHeight(offer.getHeight())).build()).getRoot();
                if (a.getRoot().isEmpty()) {
                    continue;
                }
                if (!a.getRoot().equals(offer.getRoot())) {
                    log.error("state: ALARM cell {} offers a snapshot with root {} at height {}, cell {} has root {}:"
                            + " not restoring it", source, offer.getRoot(), offer.getHeight(), cell, a.getRoot());
                    return false;
                }
                agreeing++;
            } catch (StatusRuntimeException e) {
                log.debug("state: cell {} did not confirm a root: {}", cell, e.getStatus());
            }
        }
        if (agreeing < 2) {
            log.warn("state: no other cell confirms root {} at height {}: replaying instead", offer.getRoot(),
                    offer.getHeight());
        }
        return agreeing >= 2;
    }

    private Head restore(Head head, SnapshotInfo offer, String source) throws IOException {
        long t0 = System.nanoTime();
        long h = offer.getHeight();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(h + ".snap.incoming");
        MessageDigest sha = Sha256.newDigest();
        long size = 0;
        try (FileOutputStream fos = new FileOutputStream(tmp.toFile());
                OutputStream out = new DigestOutputStream(new BufferedOutputStream(fos, 1 << 16), sha)) {
            for (boolean last = false; !last; ) {
                SnapshotChunk c = peers.call(source, StatePeerRequest.newBuilder().setSnapshotChunk(SnapshotChunkQuery
                        .newBuilder().setHeight(h).setOffset(size).setLength(CHUNK_BYTES)).build()).getChunk();
                if (c.getData().isEmpty() && !c.getLast()) {
                    throw new IOException("cell " + source + " sent an empty piece at offset " + size);
                }
                c.getData().writeTo(out);
                size += c.getData().size();
                last = c.getLast();
                if (size > offer.getSizeBytes()) {
                    throw new IOException("cell " + source + " sent more than the " + offer.getSizeBytes()
                            + " bytes it offered");
                }
            }
            out.flush();
            fos.getFD().sync();
        }
        String digest = Sha256.hex(sha.digest());
        if (size != offer.getSizeBytes() || !digest.equals(offer.getContentSha256())) {
            Files.deleteIfExists(tmp);
            throw new IOException("the content from cell " + source + " is " + size + " bytes with SHA-256 " + digest
                    + ", not the offered " + offer.getSizeBytes() + " bytes " + offer.getContentSha256());
        }

        // rebuild the tree from the entries (into the store's pending nodes) and check it against the confirmed root
        trees.discard();
        List<StateMachine.KeyChange> keys = new ArrayList<>();
        TreeMap<ByteBuffer, byte[]> leaves = new TreeMap<>();
        SnapshotHeader header;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tmp), 1 << 16)) {
            header = SnapshotHeader.parseDelimitedFrom(in);
            if (header == null || header.getHeight() != h || !Sha256.hex(header.getRoot().toByteArray())
                    .equals(offer.getRoot())) {
                throw new IOException("the snapshot's header does not match the offer");
            }
            String previous = null;
            for (long i = 0; i < header.getKeyCount(); i++) {
                SnapshotEntry e = SnapshotEntry.parseDelimitedFrom(in);
                if (e == null) {
                    throw new IOException("the snapshot ends after " + i + " of " + header.getKeyCount() + " keys");
                }
                String id = e.getNamespace() + "\u0000" + e.getKey();
                if (previous != null && previous.compareTo(id) >= 0) {
                    throw new IOException("the snapshot's keys are not in order at " + i);
                }
                previous = id;
                byte[] value = e.getValue().toByteArray();
                byte[] valueHash = SparseMerkle.valueHash(value);
                trees.putValue(valueHash, value);
                leaves.put(ByteBuffer.wrap(SparseMerkle.path(e.getNamespace(),
                        e.getKey().getBytes(StandardCharsets.UTF_8))), valueHash);
                keys.add(new StateMachine.KeyChange(e.getNamespace(), e.getKey(), valueHash, "", true, false));
            }
            if (in.read() != -1) {
                throw new IOException("the snapshot has bytes after its " + header.getKeyCount() + " keys");
            }
        }
        byte[] root = new SparseMerkleTree(trees).update(SparseMerkleTree.emptyRoot(), leaves);
        if (!Sha256.hex(root).equals(offer.getRoot())) {
            throw new IOException("the snapshot's entries rebuild root " + Sha256.hex(root) + ", not the confirmed "
                    + offer.getRoot());
        }
        List<LiveKey> gone = new ArrayList<>();
        if (head.height() > 0) {
            Set<String> have = new HashSet<>();
            keys.forEach(k -> have.add(k.namespace() + "\u0000" + k.key()));
            store.liveKeys(head.height(), k -> {
                if (!have.contains(k.namespace() + "\u0000" + k.key())) {
                    gone.add(k);
                }
            });
        }
        HeightRow row = new HeightRow(h, root, header.getBlockHash(), 0, 0, Instant.now());
        store.install(row, keys, gone, trees.pending());
        trees.committed();
        Files.move(tmp, file(h), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        store.addSnapshot(new SnapshotRow(h, root, header.getBlockHash(), digest, size, keys.size(),
                Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS)));
        lastTaken = Math.max(lastTaken, h);
        restored.increment();
        log.info("state: restored from cell {}'s snapshot at height {} ({} keys, {} bytes) in {} ms instead of"
                + " replaying {} blocks", source, h, keys.size(), size, (System.nanoTime() - t0) / 1_000_000,
                h - head.height());
        return new Head(h, root, header.getBlockHash());
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    @Override
    public void start() {
        running = true;
        List<SnapshotRow> newest = store.snapshots(0, 1);
        lastTaken = newest.isEmpty() ? 0 : newest.getFirst().height();
        peers.handle(StatePeerRequest.KindCase.LATEST_SNAPSHOT, this::latest);
        peers.handle(StatePeerRequest.KindCase.SNAPSHOT_CHUNK, this::chunk);
        peers.serve();
        unlisten = node.listen(this::maybeTake);
    }

    @Override
    public void stop() {
        running = false;
        stopped = true;
        unlisten.run();
        background.shutdownNow();
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
