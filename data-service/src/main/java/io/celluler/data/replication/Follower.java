package io.celluler.data.replication;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.core.peer.PeerNetwork;
import io.celluler.core.task.PeriodicPass;
import io.celluler.data.config.DataProperties;
import io.celluler.data.feed.FeedEvents;
import io.celluler.data.feed.FeedStore;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Follow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.feed.Feeds;
import io.celluler.data.feed.KeyValueOp;
import io.celluler.data.grpc.FeedMessages;
import io.celluler.data.tree.Proofs;
import io.celluler.data.tree.SignedRoots;
import io.celluler.data.tree.TreeHash;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.FeedPeerRequest;
import io.celluler.proto.data.v1.FeedPeerResponse;
import io.celluler.proto.data.v1.FeedType;
import io.celluler.proto.data.v1.PeerConsistency;
import io.celluler.proto.data.v1.PeerConsistencyNodes;
import io.celluler.proto.data.v1.PeerEntries;
import io.celluler.proto.data.v1.PeerFetch;
import io.celluler.proto.data.v1.PeerHead;
import io.celluler.proto.data.v1.PeerHeadState;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Follows feeds of other cells through network-service, trusting no cell: a head (signed root) counts once the feed
 * key's signature over it verifies and, when it is longer than the one held, once a consistency proof shows that its
 * tree extends the held one; entries are stored once a range proof ties them to a held signed root. A cell that sends
 * anything that does not verify is reported to network-service (blacklisted for {@code report-for}) and counted in
 * the feed's {@code rejected}; the next source is tried. Two signed roots that cannot both be true — same length and
 * different roots, or a longer tree whose nodes hold other roots at the held length — mark the feed forked, with both
 * kept as evidence, and it is followed no further.
 *
 * <p>Every {@code interval}, each followed feed is synced: a live one asks a source for its head; missing entries of
 * the chosen ranges are fetched. Reads of a replica fetch what they miss at once. This cell also answers other
 * cells' requests ({@link FeedPeers}).
 */
@Component
public class Follower implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Follower.class);
    public static final String TOPIC = "data";
    static final String CAPABILITY = "data-service";
    private static final HexFormat HEX = HexFormat.of();
    /** Cells asked for a feed in one sync at most (hints, owner, then other data-service cells). */
    static final int MAX_SOURCES = 16;
    /** Requests of one download in flight at once. */
    static final int PIPELINE = 8;

    private final DataProperties.Replication settings;
    private final Feeds feeds;
    private final FeedStore store;
    private final TransactionTemplate tx;
    private final FeedEvents events;
    private final PeerNetwork<FeedPeerRequest, FeedPeerResponse> network;
    private final FeedPeers peers;
    private final Clock clock = Clock.systemUTC();
    private final Map<String, ReentrantLock> syncing = new ConcurrentHashMap<>();
    private final Map<String, ReentrantLock> storing = new ConcurrentHashMap<>();
    /** The cell each replica got entries or heads from last. */
    private final Map<String, String> lastSource = new ConcurrentHashMap<>();
    private final Counter verified;
    private final Counter rejections;
    private final Counter forks;
    private volatile PeriodicPass passes;
    private volatile ExecutorService handlers;
    private volatile ScheduledExecutorService background;
    private volatile ScheduledExecutorService reconnects;
    /** Runs the requests of downloads ({@value #PIPELINE} per download in flight). */
    private volatile ExecutorService fetchers;
    private volatile boolean running;

    /** What a source's head did to the replica. */
    enum Head { ADVANCED, SAME, REJECTED, FORKED }

    public Follower(DataProperties props, Feeds feeds, TransactionTemplate tx, FeedEvents events, MeterRegistry meters) {
        this.settings = props.replication();
        this.feeds = feeds;
        this.store = feeds.store();
        this.tx = tx;
        this.events = events;
        this.network = settings.networked() ? new PeerNetwork<>(settings.networkAddress(), settings.callTimeout(), TOPIC,
                CAPABILITY, FeedPeerRequest.parser(), FeedPeerResponse.parser()) : null;
        this.peers = new FeedPeers(feeds, this::selfIdOrNull);
        this.verified = meters.counter("celluler.data.replication.entries.verified");
        this.rejections = meters.counter("celluler.data.replication.rejected");
        this.forks = meters.counter("celluler.data.replication.forks");
    }

    /** This cell's id, or null when it works alone or network-service is not reachable now. */
    public String selfIdOrNull() {
        if (network == null) {
            return null;
        }
        try {
            return network.selfId();
        } catch (StatusRuntimeException e) {
            return null;
        }
    }

    /** The cell that a replica got entries or its head from last (null: none yet). */
    public String lastSource(String key) {
        return lastSource.get(key);
    }

    // ---- following ------------------------------------------------------------------------------------------------

    /**
     * Follows feed {@code key} (again, with a new selection, if it is followed already): its first head comes from
     * the first of {@code hints} or of the other data-service cells that has it; the entries follow in the
     * background. NOT_FOUND when no cell has the feed; FAILED_PRECONDITION for a feed this cell owns or when it works
     * alone.
     */
    public FeedRow follow(String key, List<long[]> ranges, boolean live, List<String> hints) {
        if (network == null) {
            throw Status.FAILED_PRECONDITION.withDescription("this cell works alone (celluler.data.replication.network-address"
                    + " is not set): it cannot follow other cells' feeds").asRuntimeException();
        }
        FeedRow existing = store.feed(key).orElse(null);
        if (existing != null && existing.owned()) {
            throw Status.FAILED_PRECONDITION.withDescription("this cell owns feed " + key + ": there is nothing to follow")
                    .asRuntimeException();
        }
        if (existing == null) {
            firstHead(key, ranges, live, hints);
        } else {
            store.updateFollow(key, ranges, live, hints);
            if (live) {
                headFromAnySource(existing, hints);
            }
        }
        syncSoon(key);
        return store.feed(key).orElseThrow();
    }

    /**
     * A new replica from the first source that has the feed and whose head verifies (its signature, and a name and
     * owner cell id of the forms this cell stores: a peer's word for them is all there is).
     */
    private void firstHead(String key, List<long[]> ranges, boolean live, List<String> hints) {
        for (String source : sources(hints, null)) {
            PeerHeadState h;
            try {
                h = call(source, FeedPeerRequest.newBuilder().setHead(PeerHead.newBuilder().setFeedKey(key)).build()).getHead();
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not say whether it has feed {}: {}", source, key, e.getStatus());
                continue;
            }
            if (h.getMissing()) {
                continue;
            }
            Signed head;
            try {
                head = verifiedSigned(key, h);
                if (!Feeds.NAME.matcher(h.getName()).matches()) {
                    throw new IllegalArgumentException("names it '" + h.getName() + "', not a feed name");
                }
                if (!h.getOwnerCellId().isEmpty() && !Sha256.isCanonicalHex(h.getOwnerCellId())) {
                    throw new IllegalArgumentException("names an owner that is not a cell id");
                }
            } catch (IllegalArgumentException bad) {
                reject(key, source, "its head of feed " + key + " " + bad.getMessage(), false);
                continue;
            }
            String type = h.getType() == FeedType.FEED_TYPE_KEY_VALUE ? Feeds.KEY_VALUE : Feeds.LOG;
            String owner = h.getOwnerCellId().isEmpty() ? source : h.getOwnerCellId();
            FeedRow row = new FeedRow(key, h.getName(), type, null, head.length(), head.byteLength(), Map.of(), clock.instant(),
                    owner);
            try {
                tx.executeWithoutResult(s -> store.insertReplica(row, head, new Follow(true, ranges, live, hints, 0, 0, null, false)));
            } catch (org.springframework.dao.DuplicateKeyException raced) {
                store.updateFollow(key, ranges, live, hints); // a concurrent FollowFeed made it first
            }
            lastSource.put(key, source);
            log.info("following feed {} ('{}', {} entries) from cell {}", key, h.getName(), head.length(), source);
            return;
        }
        throw GrpcErrors.notFound("no cell reachable has feed " + key + (hints.isEmpty() ? "" : " (asked " + hints + " first)"));
    }

    /** A head's signed root, its feed key's signature checked; IllegalArgumentException when it does not verify. */
    private static Signed verifiedSigned(String key, PeerHeadState h) {
        if (!h.hasSignedRoot()) {
            throw new IllegalArgumentException("has no signed root");
        }
        Signed s = FeedMessages.signed(key, h.getSignedRoot());
        if (!SignedRoots.verify(HEX.parseHex(key), s.length(), s.byteLength(), s.rootHash(), s.signature())) {
            throw new IllegalArgumentException("carries a signature that the feed key did not make");
        }
        return s;
    }

    // ---- sync -----------------------------------------------------------------------------------------------------

    /** One pass over the followed feeds. */
    void pass() {
        for (String key : store.followed()) {
            if (!running) {
                return;
            }
            sync(key);
        }
    }

    private void syncSoon(String key) {
        ScheduledExecutorService b = background;
        if (b != null) {
            try {
                b.execute(() -> sync(key));
            } catch (RejectedExecutionException stopping) {
                // the next pass syncs it
            }
        }
    }

    /** Brings one replica up to date with its selection (a live one: with its sources' newest head). */
    void sync(String key) {
        ReentrantLock lock = syncing.computeIfAbsent(key, k -> new ReentrantLock());
        if (!lock.tryLock()) {
            return; // a sync of this feed is running
        }
        try {
            Follow follow = store.follow(key).orElse(null);
            FeedRow f = store.feed(key).orElse(null);
            if (follow == null || f == null || !follow.following()) {
                return;
            }
            if (follow.live()) {
                f = headFromAnySource(f, follow.sources());
                if (f == null) {
                    return; // forked
                }
            }
            List<long[]> gaps = gaps(f, follow.ranges());
            if (!gaps.isEmpty()) {
                download(f, gaps, follow.sources());
            }
        } catch (StatusRuntimeException e) {
            log.debug("sync of feed {} stopped: {}", key, e.getStatus());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Entries {@code [from, to)} of a replica fetched from its sources now (a read that misses them); whether they are
     * all here after.
     */
    public boolean fetch(FeedRow f, long from, long to) {
        if (network == null || f.owned()) {
            return store.countStored(f.key(), from, to) == to - from;
        }
        ReentrantLock lock = syncing.computeIfAbsent(f.key(), k -> new ReentrantLock());
        lock.lock();
        try {
            List<long[]> gaps = gaps(f, List.<long[]>of(new long[] {from, to}));
            if (!gaps.isEmpty()) {
                download(f, gaps, store.follow(f.key()).map(Follow::sources).orElse(List.of()));
            }
        } catch (StatusRuntimeException e) {
            log.debug("fetching entries [{}, {}) of feed {} stopped: {}", from, to, f.key(), e.getStatus());
        } finally {
            lock.unlock();
        }
        return store.countStored(f.key(), from, to) == to - from;
    }

    /** The replica's row after asking its sources for their heads until one answers (null: it forked). */
    private FeedRow headFromAnySource(FeedRow f, List<String> hints) {
        for (String source : sources(hints, f.ownerCellId())) {
            PeerHeadState h;
            try {
                h = call(source, FeedPeerRequest.newBuilder().setHead(PeerHead.newBuilder().setFeedKey(f.key())).build()).getHead();
            } catch (StatusRuntimeException e) {
                continue;
            }
            if (h.getMissing()) {
                continue;
            }
            Head result = advanceHead(f, source, h);
            if (result == Head.FORKED) {
                return null;
            }
            if (result != Head.REJECTED) {
                return store.feed(f.key()).orElseThrow();
            }
        }
        return f;
    }

    /** Takes a source's head if it verifies and extends the replica's tree; reports the source if it does not verify. */
    Head advanceHead(FeedRow f, String source, PeerHeadState h) {
        String key = f.key();
        Signed theirs;
        try {
            theirs = verifiedSigned(key, h);
        } catch (IllegalArgumentException bad) {
            reject(key, source, "its head of feed " + key + " " + bad.getMessage(), true);
            return Head.REJECTED;
        }
        Signed ours = store.signed(key, f.length()).orElseThrow();
        if (theirs.length() <= ours.length()) {
            Signed same = theirs.length() == ours.length() ? ours : store.signed(key, theirs.length()).orElse(null);
            if (same != null && !Arrays.equals(same.rootHash(), theirs.rootHash())) {
                forked(key, source, same, theirs);
                return Head.FORKED;
            }
            return Head.SAME;
        }
        List<Node> nodes = List.of();
        if (ours.length() > 0) {
            PeerConsistencyNodes c;
            try {
                c = call(source, FeedPeerRequest.newBuilder().setConsistency(PeerConsistency.newBuilder().setFeedKey(key)
                        .setFromLength(ours.length()).setToLength(theirs.length())).build()).getConsistency();
            } catch (StatusRuntimeException e) {
                return Head.SAME;
            }
            if (c.getMissing()) {
                return Head.SAME;
            }
            List<Node> oldRoots;
            try {
                nodes = c.getNodesList().stream().map(FeedMessages::node).toList();
                oldRoots = Proofs.oldRootsFromConsistency(ours.length(), theirs.length(), nodes, theirs.rootHash());
            } catch (IllegalArgumentException | Proofs.ProofException bad) {
                reject(key, source, "its consistency proof of feed " + key + " from " + ours.length() + " to "
                        + theirs.length() + " does not verify: " + bad.getMessage(), true);
                return Head.REJECTED;
            }
            if (!Arrays.equals(TreeHash.rootHash(oldRoots), ours.rootHash())) {
                forked(key, source, ours, theirs);
                return Head.FORKED;
            }
        }
        List<Node> proven = nodes;
        tx.executeWithoutResult(s -> {
            FeedRow now = store.lock(key).orElseThrow();
            if (now.length() < theirs.length()) {
                store.insertSignedIfAbsent(key, theirs);
                store.insertNodesIfAbsent(key, proven);
                store.setLength(key, theirs.length(), theirs.byteLength());
            }
        });
        lastSource.put(key, source);
        events.changed(key);
        log.debug("feed {}: head {} -> {} from cell {}", key, ours.length(), theirs.length(), source);
        return Head.ADVANCED;
    }

    /** The missing entries of {@code ranges} (none: the whole feed) below the replica's length, as [start, end) pairs. */
    private List<long[]> gaps(FeedRow f, List<long[]> ranges) {
        List<long[]> wanted = ranges.isEmpty() ? List.<long[]>of(new long[] {0, 0}) : ranges;
        List<long[]> out = new ArrayList<>();
        for (long[] r : wanted) {
            long from = r[0];
            long to = r[1] == 0 ? f.length() : Math.min(r[1], f.length());
            if (from >= to || store.countStored(f.key(), from, to) == to - from) {
                continue;
            }
            long next = from;
            while (next < to) {
                List<Long> stored = store.storedIndexes(f.key(), next, to, 10_000);
                for (long i : stored) {
                    if (i > next) {
                        out.add(new long[] {next, i});
                    }
                    next = i + 1;
                }
                if (stored.size() < 10_000) {
                    if (next < to) {
                        out.add(new long[] {next, to});
                    }
                    break;
                }
            }
        }
        return out;
    }

    /**
     * Downloads {@code gaps} from the first sources that have them, every answer verified before it is stored. The
     * gaps are cut into windows of about {@code fetch-bytes} (by the feed's mean entry size) and up to
     * {@value #PIPELINE} windows are asked for at once, so that the round trips through both network-services overlap;
     * a window answered in part goes back to the queue for the rest.
     */
    private void download(FeedRow f, List<long[]> gaps, List<String> hints) {
        Signed root = store.signed(f.key(), f.length()).orElseThrow();
        long perEntry = Math.max(1, root.byteLength() / Math.max(1, root.length()));
        long window = Math.max(1, Math.min(FeedPeers.MAX_ENTRIES, settings.fetchBytes() / perEntry));
        Deque<long[]> left = new ArrayDeque<>();
        for (long[] g : gaps) {
            for (long s = g[0]; s < g[1]; s += window) {
                left.add(new long[] {s, Math.min(g[1], s + window)});
            }
        }
        for (String source : sources(hints, f.ownerCellId())) {
            if (left.isEmpty() || !running) {
                return;
            }
            ExecutorCompletionService<long[]> answers = new ExecutorCompletionService<>(fetchers);
            int inFlight = 0;
            boolean failed = false;
            try {
                while (inFlight > 0 || (!failed && !left.isEmpty())) {
                    while (!failed && inFlight < PIPELINE && !left.isEmpty()) {
                        long[] w = left.poll();
                        answers.submit(() -> new long[] {w[0], w[1], downloadFrom(f, root, source, w[0], w[1])});
                        inFlight++;
                    }
                    long[] r = answers.take().get();
                    inFlight--;
                    if (r[2] < 0) {
                        failed = true; // this source cannot (or must not) serve: the next one gets the rest
                        left.addFirst(new long[] {r[0], r[1]});
                    } else if (r[0] + r[2] < r[1]) {
                        left.addFirst(new long[] {r[0] + r[2], r[1]});
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
            }
        }
    }

    /** One answer of entries from {@code [start, end)}, verified and stored: how many; -1 when the source did not serve. */
    private long downloadFrom(FeedRow f, Signed root, String source, long start, long end) {
        String key = f.key();
        PeerFetch.Builder ask = PeerFetch.newBuilder().setFeedKey(key).setStart(start).setEnd(end).setLength(root.length())
                .setMaxBytes(settings.fetchBytes());
        PeerEntries answer;
        try {
            answer = call(source, FeedPeerRequest.newBuilder().setFetch(ask).build()).getEntries();
        } catch (StatusRuntimeException e) {
            log.debug("cell {} did not serve entries [{}, {}) of feed {}: {}", source, start, end, key, e.getStatus());
            return -1;
        }
        if (answer.getMissing()) {
            return -1;
        }
        List<byte[]> entries = new ArrayList<>();
        try {
            if (answer.getEntriesCount() == 0) {
                entries.add(pieces(source, ask, answer));
            } else {
                for (int i = 0; i < answer.getEntriesCount(); i++) {
                    if (answer.getEntries(i).getIndex() != start + i) {
                        throw new IllegalArgumentException("sent entry " + answer.getEntries(i).getIndex() + " as entry " + (start + i));
                    }
                    entries.add(answer.getEntries(i).getData().toByteArray());
                }
            }
            if (start + entries.size() > end) {
                throw new IllegalArgumentException("sent more entries than asked for");
            }
            List<Node> proof = answer.getNodesList().stream().map(FeedMessages::node).toList();
            Proofs.VerifiedRange v = Proofs.rootsFromRange(start, entries, root.length(), proof);
            if (!Arrays.equals(TreeHash.rootHash(v.roots()), root.rootHash()) || Proofs.byteLength(v.roots()) != root.byteLength()) {
                throw new IllegalArgumentException("sent entries [" + start + ", " + (start + entries.size())
                        + ") that do not lead to the signed root at length " + root.length());
            }
            store(f, start, entries, v.nodes());
        } catch (IllegalArgumentException | Proofs.ProofException bad) {
            reject(key, source, "feed " + key + ": " + bad.getMessage(), true);
            return -1;
        }
        lastSource.put(key, source);
        return entries.size();
    }

    /** The whole of one large entry, from the first piece on (each piece continues where the last one ended). */
    private byte[] pieces(String source, PeerFetch.Builder ask, PeerEntries first) {
        long size = first.getEntrySize();
        if (size <= 0 || size > Feeds.MAX_ENTRY_BYTES || first.getPieceOffset() != 0 || first.getPiece().isEmpty()) {
            throw new IllegalArgumentException("sent a piece of an entry of " + size + " bytes at offset " + first.getPieceOffset());
        }
        byte[] out = new byte[(int) size];
        PeerEntries piece = first;
        int at = 0;
        while (true) {
            if (piece.getPieceOffset() != at || piece.getEntrySize() != size || piece.getPiece().isEmpty()
                    || at + piece.getPiece().size() > size) {
                throw new IllegalArgumentException("sent a piece that does not continue the entry at byte " + at);
            }
            piece.getPiece().copyTo(out, at);
            at += piece.getPiece().size();
            if (at == size) {
                return out; // the caller checks it with the first piece's proof (every piece carries the same)
            }
            piece = call(source, FeedPeerRequest.newBuilder().setFetch(ask.clone().setOffset(at)).build()).getEntries();
            if (piece.getMissing()) {
                throw Status.UNAVAILABLE.withDescription("cell " + source + " stopped serving the entry").asRuntimeException();
            }
        }
    }

    /**
     * Verified entries and nodes of a replica stored in one transaction (a key-value feed's operations indexed); the
     * answers of one feed are stored one at a time (neighbouring windows share nodes).
     */
    private void store(FeedRow f, long start, List<byte[]> entries, List<Node> nodes) {
        String key = f.key();
        ReentrantLock storing = this.storing.computeIfAbsent(key, k -> new ReentrantLock());
        storing.lock();
        try {
            storeLocked(f, start, entries, nodes);
        } finally {
            storing.unlock();
        }
        verified.increment(entries.size());
        events.changed(key);
    }

    private void storeLocked(FeedRow f, long start, List<byte[]> entries, List<Node> nodes) {
        String key = f.key();
        tx.executeWithoutResult(s -> {
            int added = store.insertEntriesIfAbsent(key, start, entries);
            store.insertNodesIfAbsent(key, nodes);
            if (Feeds.KEY_VALUE.equals(f.type())) {
                for (int i = 0; i < entries.size(); i++) {
                    try {
                        KeyValueOp op = KeyValueOp.decode(entries.get(i));
                        store.insertChangeIfAbsent(key, new FeedStore.Change(op.key(), start + i + 1, op.delete(), op.value()));
                    } catch (IllegalArgumentException notAnOperation) {
                        log.warn("entry {} of key-value feed {} is not a key-value operation: left out of the view", start + i, key);
                    }
                }
            }
            store.synced(key, added, clock.instant());
        });
    }

    // ---- verdicts -------------------------------------------------------------------------------------------------

    private void reject(String key, String source, String why, boolean counted) {
        rejections.increment();
        if (counted) {
            store.countRejected(key);
        }
        log.warn("rejected what cell {} sent: {}", source, why);
        network.report(source, "data-service: " + why, settings.reportFor());
    }

    private void forked(String key, String source, Signed ours, Signed theirs) {
        tx.executeWithoutResult(s -> store.markForked(key, ours, theirs));
        forks.increment();
        log.error("feed {} is FORKED: its key signed two histories (length {} root {} held here; length {} root {} from cell {});"
                + " it is no longer followed", key, ours.length(), HEX.formatHex(ours.rootHash()), theirs.length(),
                HEX.formatHex(theirs.rootHash()), source);
        events.changed(key);
    }

    // ---- the network ----------------------------------------------------------------------------------------------

    /** Cells to ask, in order: the hints, the owner, then the other data-service cells; never this cell. */
    private List<String> sources(List<String> hints, String owner) {
        Set<String> out = new LinkedHashSet<>(hints);
        if (owner != null && !owner.isEmpty()) {
            out.add(owner);
        }
        try {
            out.addAll(network.peers());
            out.remove(network.selfId());
        } catch (StatusRuntimeException e) {
            log.debug("network-service is not reachable: {}", e.getStatus());
        }
        return out.stream().limit(MAX_SOURCES).toList();
    }

    private FeedPeerResponse call(String cell, FeedPeerRequest request) {
        return network.call(cell, request);
    }

    // ---- lifecycle ------------------------------------------------------------------------------------------------

    @Override
    public void start() {
        running = true;
        if (network == null) {
            return;
        }
        fetchers = Executors.newFixedThreadPool(2 * PIPELINE, Thread.ofPlatform().daemon().name("data-fetch-", 1).factory());
        background = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("data-follow").factory());
        handlers = new ThreadPoolExecutor(settings.handlerThreads(), settings.handlerThreads(), 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(256), Thread.ofPlatform().daemon().name("data-peer-", 1).factory());
        // the Serve stream is opened again on a thread of its own: a long sync must not keep the cell deaf to peers
        reconnects = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("data-peer-reconnect").factory());
        network.serve(peers::handle, handlers, reconnects, Duration.ofSeconds(2));
        passes = new PeriodicPass("data-sync", settings.interval(), log, this::pass);
    }

    @Override
    public void stop() {
        running = false;
        if (passes != null) {
            passes.close();
        }
        if (background != null) {
            background.shutdownNow();
        }
        if (reconnects != null) {
            reconnects.shutdownNow();
        }
        if (fetchers != null) {
            fetchers.shutdownNow();
        }
        if (handlers != null) {
            handlers.shutdownNow();
        }
        if (network != null) {
            network.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
