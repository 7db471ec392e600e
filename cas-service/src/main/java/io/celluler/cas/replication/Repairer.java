package io.celluler.cas.replication;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import io.celluler.cas.chunk.FastCdc;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.InFlightChunks;
import io.celluler.cas.store.RemoteChunks;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.HasChunksRequest;
import io.celluler.proto.cas.v1.PeerChunkPiece;
import io.celluler.proto.cas.v1.PeerFetchChunk;
import io.celluler.proto.cas.v1.PeerRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches chunks this cell lost (missing, or quarantined as corrupt) from other cells, by hash: it asks cells which
 * of the chunks they have (the cells named as likely holders first, then every live cell with cas-service), fetches
 * each from one that has it, in pieces under the network's message limit, and stores it only if its bytes hash to
 * its name; a cell that sends wrong bytes is counted and logged, and the next holder is asked.
 */
public final class Repairer implements RemoteChunks, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Repairer.class);
    /** Chunk bytes per fetch answer at most: well inside network-service's 1 MiB payload limit. */
    static final int PIECE_BYTES = 768 * 1024;
    /** Hashes per HasChunks request at most (cas-service's own limit). */
    static final int HAS_BATCH = 10_000;
    /** The largest chunk a peer may announce: the largest any chunking here makes (64 MiB). */
    static final int MAX_CHUNK_BYTES = FastCdc.MAX_SIZE_CEILING;

    private final PeerNetwork network;
    private final ChunkStore chunks;
    private final InFlightChunks inFlight;
    private final ContentIndex index;
    private final Counter repaired;
    private final Counter repairedBytes;
    private final Counter unrepairable;
    private final Counter badPeerData;
    private final Set<String> inProgress = ConcurrentHashMap.newKeySet();
    /**
     * Chunk fetches in flight at most, over all repairs: a fetch is a round trip through two network-services plus a
     * verified write, so several in flight keep the link busy (measured: 12 MB/s with one, docs/benchmarks.md).
     */
    static final int FETCHES_IN_FLIGHT = 8;
    private final ExecutorService fetchers = Executors.newFixedThreadPool(FETCHES_IN_FLIGHT,
            Thread.ofPlatform().daemon().name("cas-fetch-", 1).factory());
    /** Background repairs (chunks of a newly adopted copy): one at a time, a bounded queue. */
    private final ThreadPoolExecutor background = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(64), Thread.ofPlatform().daemon().name("cas-repair").factory());

    public Repairer(PeerNetwork network, ChunkStore chunks, ContentIndex index, InFlightChunks inFlight, MeterRegistry meters) {
        this.network = network;
        this.chunks = chunks;
        this.index = index;
        this.inFlight = inFlight;
        this.repaired = meters.counter("celluler.cas.repair.chunks");
        this.repairedBytes = Counter.builder("celluler.cas.repair.fetched").baseUnit("bytes").register(meters);
        this.unrepairable = meters.counter("celluler.cas.repair.unavailable");
        this.badPeerData = meters.counter("celluler.cas.repair.bad.peer.data");
    }

    /** Repairs one chunk now (a read found it missing or corrupt); true when it is stored again. */
    @Override
    public boolean fetch(String sha256) {
        return fetchAll(List.of(sha256), List.of()).contains(sha256);
    }

    /** Repairs {@code hashes} later, on the background thread; false when its queue is full (the scrub finds them). */
    public boolean repairLater(Collection<String> hashes, List<String> likelyHolders) {
        if (hashes.isEmpty()) {
            return true;
        }
        List<String> copy = List.copyOf(hashes);
        try {
            background.execute(() -> repair(copy, likelyHolders));
            return true;
        } catch (RejectedExecutionException full) {
            return false;
        }
    }

    /**
     * Fetches whichever of {@code hashes} some cell has, asking {@code likelyHolders} first; returns the hashes stored
     * again. Chunks that no cell could give stay missing (counted; the next scrub tries again). Chunks another repair
     * is fetching already are left to it (the scrub and the adoption of a copy find the same missing chunks).
     */
    public Set<String> repair(Collection<String> hashes, List<String> likelyHolders) {
        List<String> claimed = new ArrayList<>();
        for (String h : hashes) {
            if (inProgress.add(h)) {
                claimed.add(h);
            }
        }
        try {
            return fetchAll(claimed, likelyHolders);
        } finally {
            claimed.forEach(inProgress::remove);
        }
    }

    private Set<String> fetchAll(Collection<String> hashes, List<String> likelyHolders) {
        Set<String> wanted = new LinkedHashSet<>(hashes);
        Set<String> done = new LinkedHashSet<>();
        if (wanted.isEmpty()) {
            return done;
        }
        List<String> candidates = new ArrayList<>(likelyHolders);
        try {
            String self = network.selfId();
            network.peers().stream().filter(c -> !candidates.contains(c)).forEach(candidates::add);
            candidates.remove(self);
        } catch (StatusRuntimeException e) {
            log.warn("cannot repair {} chunk(s): network-service is not reachable ({})", wanted.size(), e.getStatus());
            unrepairable.increment(wanted.size());
            return done;
        }
        for (String cell : candidates) {
            if (wanted.isEmpty()) {
                break;
            }
            List<Future<Boolean>> fetches = new ArrayList<>();
            for (String h : has(cell, wanted)) {
                fetches.add(fetchers.submit(() -> fetchAndStore(cell, h)));
            }
            for (Future<Boolean> f : fetches) {
                awaitQuietly(f);
            }
            for (String h : List.copyOf(wanted)) {
                if (chunks.contains(h)) {
                    wanted.remove(h);
                    done.add(h);
                }
            }
        }
        if (!done.isEmpty()) {
            log.info("repaired {} chunk(s) from other cells", done.size());
        }
        if (!wanted.isEmpty()) {
            unrepairable.increment(wanted.size());
            log.warn("{} chunk(s) could not be repaired: none of {} cell(s) asked had them (e.g. {})", wanted.size(),
                    candidates.size(), wanted.iterator().next());
        }
        return done;
    }

    /** Fetches one chunk from {@code cell} and stores it; true when it is stored. */
    private boolean fetchAndStore(String cell, String h) {
        byte[] data = fetchFrom(cell, h);
        if (data == null) {
            return false;
        }
        inFlight.hold(h); // the collector leaves a chunk being written alone
        try {
            chunks.write(h, data, 0, data.length);
        } catch (IOException e) {
            log.error("storing repaired chunk {} failed", h, e);
            return false;
        } finally {
            inFlight.release(h);
        }
        repaired.increment();
        repairedBytes.increment(data.length);
        return true;
    }

    private static void awaitQuietly(Future<Boolean> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            log.error("fetching a chunk failed", e.getCause());
        }
    }

    /** Which of {@code wanted} {@code cell} says it has (none when it cannot be asked). */
    private List<String> has(String cell, Collection<String> wanted) {
        List<String> all = new ArrayList<>(wanted);
        List<String> present = new ArrayList<>();
        for (int from = 0; from < all.size(); from += HAS_BATCH) {
            List<String> part = all.subList(from, Math.min(all.size(), from + HAS_BATCH));
            try {
                present.addAll(network.call(cell, PeerRequest.newBuilder()
                        .setHasChunks(HasChunksRequest.newBuilder().addAllSha256(part)).build()).getHasChunks().getPresentList());
            } catch (StatusRuntimeException e) {
                log.debug("cell {} could not be asked for chunks: {}", cell, e.getStatus());
                return present;
            }
        }
        present.retainAll(wanted); // only what was asked, each once
        return present.stream().distinct().toList();
    }

    /** The chunk from {@code cell}, verified against its hash; null when it does not come whole and right. */
    byte[] fetchFrom(String cell, String sha256) {
        int expectedSize = index.chunkSize(sha256).orElse(0); // known when a manifest here lists it
        byte[] data = null;
        long offset = 0;
        try {
            do {
                PeerChunkPiece piece = network.call(cell, PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder()
                        .setSha256(sha256).setOffset(offset).setMaxBytes(PIECE_BYTES)).build()).getChunkPiece();
                if (piece.getMissing()) {
                    return null;
                }
                if (data == null) {
                    if (piece.getSizeBytes() <= 0 || piece.getSizeBytes() > MAX_CHUNK_BYTES
                            || (expectedSize > 0 && piece.getSizeBytes() != expectedSize)) {
                        return badData(cell, sha256, "announced a size of " + piece.getSizeBytes()
                                + (expectedSize > 0 ? " (its manifests here say " + expectedSize + ")" : ""));
                    }
                    data = new byte[piece.getSizeBytes()];
                }
                int n = piece.getData().size();
                // a piece short of the end carries all the bytes asked for: a cell that drips a few bytes an answer
                // would hold this cell for hours
                if (!piece.getSha256().equals(sha256) || piece.getOffset() != offset || piece.getSizeBytes() != data.length
                        || n == 0 || offset + n > data.length || (offset + n < data.length && n != PIECE_BYTES)) {
                    return badData(cell, sha256, "sent a piece that does not fit (offset " + piece.getOffset() + ", "
                            + n + " bytes, of " + piece.getSizeBytes() + ")");
                }
                piece.getData().copyTo(data, (int) offset);
                offset += n; // every round moves on by at least one byte: the loop ends
            } while (offset < data.length);
        } catch (StatusRuntimeException e) {
            log.debug("fetching chunk {} from cell {} failed: {}", sha256, cell, e.getStatus());
            return null;
        }
        if (!Sha256.hexOf(data).equals(sha256)) {
            return badData(cell, sha256, "sent bytes that hash to " + Sha256.hexOf(data));
        }
        return data;
    }

    private byte[] badData(String cell, String sha256, String what) {
        badPeerData.increment();
        log.warn("cell {} {} for chunk {}: ignored", cell, what, sha256);
        return null;
    }

    @Override
    public void close() {
        background.shutdownNow();
        fetchers.shutdownNow();
    }
}
