package io.celluler.cas.lifecycle;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import io.celluler.core.task.PeriodicPass;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.store.LifecycleIndex;
import io.celluler.cas.store.LifecycleRule;
import io.celluler.cas.store.ObjectIndex;
import io.celluler.cas.store.ObjectIndex.ObjectRow;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Applies buckets' lifecycle rules (S3's lifecycle expiration), every {@code celluler.cas.lifecycle.interval}:
 * <ul>
 *   <li>{@code Expiration} (days or date): a current version past it is deleted as a client's DELETE would — gone
 *       in a bucket never versioned, hidden behind a delete marker in a versioned one;</li>
 *   <li>{@code ExpiredObjectDeleteMarker}: a delete marker that is the only version left of its key goes (with an
 *       expiration in days too, once the marker is that old, as S3 does);</li>
 *   <li>{@code NoncurrentVersionExpiration}: a noncurrent version goes the given days after a newer one replaced it,
 *       except the newest {@code NewerNoncurrentVersions};</li>
 *   <li>{@code AbortIncompleteMultipartUpload}: an upload still in progress the given days after it began is aborted.</li>
 * </ul>
 * Days are counted as S3 counts them: from the creation (or replacement) time, rounded up to the next midnight UTC.
 * Each rule acts on at most {@code batch} items per pass; what is left waits for the next pass. Each item is checked
 * again, its row locked, before it is acted on (a client may have written the key since the query). Content freed
 * this way is removed by the garbage collector after its grace period.
 */
@Component
public class LifecycleWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LifecycleWorker.class);

    private final CasProperties.Lifecycle settings;
    private final LifecycleIndex rules;
    private final ObjectIndex objects;
    private final Clock clock = Clock.systemUTC();
    private final Counter expired;
    private final Counter noncurrentRemoved;
    private final Counter markersRemoved;
    private final Counter uploadsAborted;
    private volatile PeriodicPass passes;
    private volatile boolean running;

    /** What one pass did. */
    public record Pass(int expired, int noncurrentRemoved, int markersRemoved, int uploadsAborted) {
    }

    public LifecycleWorker(CasProperties props, LifecycleIndex rules, ObjectIndex objects, MeterRegistry meters) {
        this.settings = props.lifecycle();
        this.rules = rules;
        this.objects = objects;
        this.expired = meters.counter("celluler.cas.lifecycle.expired");
        this.noncurrentRemoved = meters.counter("celluler.cas.lifecycle.noncurrent.removed");
        this.markersRemoved = meters.counter("celluler.cas.lifecycle.markers.removed");
        this.uploadsAborted = meters.counter("celluler.cas.lifecycle.uploads.aborted");
    }

    /** One pass as of {@code now} (the scheduler calls it with the clock; tests with a time of their own). */
    public synchronized Pass runPass(Instant now) {
        int[] n = new int[4];
        Instant today = now.truncatedTo(ChronoUnit.DAYS);
        for (String bucket : rules.bucketsWithRules()) {
            for (LifecycleRule r : rules.rules(bucket)) {
                if (!r.enabled()) {
                    continue;
                }
                try {
                    apply(bucket, r, now, today, n);
                } catch (RuntimeException e) {
                    // one rule that cannot be applied now must not hold up the others (nor the other buckets)
                    log.warn("lifecycle rule {} of bucket {} failed in this pass: {}", r.id(), bucket, e.toString());
                }
            }
        }
        expired.increment(n[0]);
        noncurrentRemoved.increment(n[1]);
        markersRemoved.increment(n[2]);
        uploadsAborted.increment(n[3]);
        return new Pass(n[0], n[1], n[2], n[3]);
    }

    /** Applies one enabled rule; adds what it did to {@code n}: {expired, noncurrent, markers, uploads}. */
    private void apply(String bucket, LifecycleRule r, Instant now, Instant today, int[] n) {
        int batch = settings.batch();
        Instant createdBefore = r.expirationDays() != null ? today.minus(r.expirationDays(), ChronoUnit.DAYS)
                : r.expirationDate() != null && !now.isBefore(r.expirationDate()) ? now : null;
        if (createdBefore != null) {
            for (ObjectRow o : rules.currentCreatedBefore(bucket, r.prefix(), createdBefore, batch)) {
                if (objects.expireCurrent(o, createdBefore, now)) { // still current and old: a client may have written since
                    n[0]++;
                }
            }
        }
        if (r.noncurrentDays() != null) {
            Instant replacedBefore = today.minus(r.noncurrentDays(), ChronoUnit.DAYS);
            int keep = r.newerNoncurrentVersions() == null ? 0 : r.newerNoncurrentVersions();
            for (ObjectRow o : rules.noncurrentReplacedBefore(bucket, r.prefix(), replacedBefore, keep, batch)) {
                if (objects.removeVersionIf(o, v -> !v.latest(), now)) {
                    n[1]++;
                }
            }
        }
        // a delete marker left alone goes when the rule says so, or (as S3 does) with an expiration in days once it
        // is as old as the objects the rule expires
        if (r.expiredObjectDeleteMarker() || r.expirationDays() != null) {
            Instant markedBefore = r.expiredObjectDeleteMarker() ? now : createdBefore;
            for (ObjectRow o : rules.loneDeleteMarkers(bucket, r.prefix(), markedBefore, batch)) {
                if (objects.removeVersionIf(o, v -> v.latest() && v.deleteMarker() && objects.versionCount(v.bucket(), v.key()) == 1,
                        now)) {
                    n[2]++;
                }
            }
        }
        if (r.abortMultipartDays() != null) {
            Instant begunBefore = today.minus(r.abortMultipartDays(), ChronoUnit.DAYS);
            for (String uploadId : rules.uploadsBegunBefore(bucket, r.prefix(), begunBefore, batch)) {
                if (objects.abort(uploadId, now)) {
                    n[3]++;
                }
            }
        }
    }

    @Override
    public void start() {
        passes = new PeriodicPass("cas-lifecycle", settings.interval(), log, () -> {
            Pass p = runPass(clock.instant());
            if (p.expired() + p.noncurrentRemoved() + p.markersRemoved() + p.uploadsAborted() > 0) {
                log.info("lifecycle pass: {}", p);
            }
        });
        running = true;
    }

    /** Not synchronized with {@link #runPass}: stopping interrupts a pass instead of waiting for it. */
    @Override
    public void stop() {
        running = false;
        if (passes != null) {
            passes.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
