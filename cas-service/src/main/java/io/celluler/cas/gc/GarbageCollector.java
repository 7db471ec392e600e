package io.celluler.cas.gc;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.celluler.core.task.PeriodicPass;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex;
import io.celluler.cas.store.InFlightChunks;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Removes content nothing references, while uploads go on. There is no stop-the-world mark phase: the marks are
 * the reference counts, kept exact in the same transactions that add and drop references ({@link ContentIndex}),
 * so a pass only looks at what dropped to zero, however much is stored (IPFS's collector walks every pinned DAG
 * from its roots, and takes a lock that stops writes for as long). Each pass, bounded by {@code batch}:
 * <ol>
 *   <li>manifests unreferenced for longer than the grace period go, and release their chunks;</li>
 *   <li>chunks unreferenced for longer than the grace period go: the row first, then the file, unless an upload
 *       in progress holds the chunk ({@link InFlightChunks});</li>
 *   <li>{@code folders-per-pass} fan-out folders are walked for chunk files without a row (an upload that crashed
 *       or was aborted after writing them) and temp files of writes that never finished: older than the grace
 *       period and not held, they go.</li>
 * </ol>
 */
@Component
public class GarbageCollector implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);
    private static final int FOLDERS = 65_536;

    private final CasProperties.Gc settings;
    private final ContentIndex index;
    private final ChunkStore chunks;
    private final InFlightChunks inFlight;
    private final Clock clock = Clock.systemUTC();
    private final Counter manifestsRemoved;
    private final Counter chunksRemoved;
    private final Counter bytesRemoved;
    private final Counter orphansRemoved;
    private final Counter heldSkipped;
    private final Timer passes;
    private volatile PeriodicPass schedule;
    private int nextFolder;
    private volatile boolean running;

    /** What one pass did. */
    public record Pass(int manifests, int chunks, long bytes, int orphans, int heldSkipped) {
    }

    public GarbageCollector(CasProperties props, ContentService content, MeterRegistry meters) {
        this.settings = props.gc();
        this.index = content.index();
        this.chunks = content.chunks();
        this.inFlight = content.inFlight();
        this.manifestsRemoved = meters.counter("celluler.cas.gc.manifests.removed");
        this.chunksRemoved = meters.counter("celluler.cas.gc.chunks.removed");
        this.bytesRemoved = Counter.builder("celluler.cas.gc.removed").baseUnit("bytes").register(meters);
        this.orphansRemoved = meters.counter("celluler.cas.gc.orphan.files.removed");
        this.heldSkipped = meters.counter("celluler.cas.gc.held.skipped");
        this.passes = meters.timer("celluler.cas.gc.pass");
    }

    /** One pass as of {@code now} (the scheduler calls it; tests call it with a clock of their own). */
    public synchronized Pass runPass(Instant now) {
        Instant cutoff = now.minus(settings.grace());
        int manifests = 0;
        int removed = 0;
        long bytes = 0;
        int orphans = 0;
        int held = 0;
        Timer.Sample sample = Timer.start();
        for (String root : index.collectableManifests(cutoff, settings.batch())) {
            if (index.removeManifest(root, cutoff, now)) {
                manifests++;
            }
        }
        for (String hash : index.collectableChunks(cutoff, settings.batch())) {
            long size = Math.max(0, chunks.size(hash));
            try {
                if (inFlight.collectUnlessHeld(hash, () -> index.removeChunk(hash, cutoff) && deleteFile(hash))) {
                    removed++;
                    bytes += size;
                } else if (inFlight.held(hash)) {
                    held++;
                }
            } catch (Exception e) {
                log.warn("could not remove chunk {}: {}", hash, e.toString());
            }
        }
        int looked = 0;
        for (int f = 0; f < settings.foldersPerPass() && looked < settings.batch(); f++) {
            int folder = nextFolder;
            nextFolder = (nextFolder + 1) % FOLDERS;
            try {
                // a temp file of a chunk an upload holds is being written now (the test clock may run ahead of it)
                orphans += chunks.removeStaleTemps(folder, cutoff, inFlight::collectUnlessHeld);
                List<String> files = chunks.list(folder);
                looked += files.size();
                Set<String> known = new HashSet<>(index.knownChunks(files));
                for (String hash : files) {
                    if (known.contains(hash)) {
                        continue;
                    }
                    Instant modified = chunks.modifiedAt(hash);
                    if (modified == null || !modified.isBefore(cutoff)) {
                        continue;
                    }
                    long size = Math.max(0, chunks.size(hash));
                    // under the chunk's lock: not held, and (checked again) still without a row
                    if (inFlight.collectUnlessHeld(hash, () -> index.knownChunks(List.of(hash)).isEmpty() && deleteFile(hash))) {
                        index.forgetShardMappings(hash); // a shard of an adoption that never completed
                        orphans++;
                        bytes += size;
                    }
                }
            } catch (Exception e) {
                log.warn("could not sweep chunk folder {}: {}", folder, e.toString());
            }
        }
        sample.stop(passes);
        manifestsRemoved.increment(manifests);
        chunksRemoved.increment(removed);
        orphansRemoved.increment(orphans);
        bytesRemoved.increment(bytes);
        heldSkipped.increment(held);
        Pass p = new Pass(manifests, removed, bytes, orphans, held);
        if (manifests + removed + orphans > 0) {
            log.info("gc: {} manifests, {} chunks and {} orphan files removed ({} bytes); {} chunks held by uploads",
                    manifests, removed, orphans, bytes, held);
        }
        return p;
    }

    private boolean deleteFile(String hash) throws IOException {
        chunks.delete(hash);
        return true;
    }

    @Override
    public void start() {
        running = true;
        if (!settings.enabled()) {
            return;
        }
        schedule = new PeriodicPass("cas-gc", settings.interval(), log, () -> runPass(clock.instant()));
    }

    @Override
    public void stop() {
        running = false;
        if (schedule != null) {
            schedule.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
