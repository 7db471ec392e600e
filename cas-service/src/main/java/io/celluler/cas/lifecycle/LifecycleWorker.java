package io.celluler.cas.lifecycle;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

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
 *   <li>{@code ExpiredObjectDeleteMarker}: a delete marker that is the only version left of its key goes;</li>
 *   <li>{@code NoncurrentVersionExpiration}: a noncurrent version goes the given days after a newer one replaced it,
 *       except the newest {@code NewerNoncurrentVersions};</li>
 *   <li>{@code AbortIncompleteMultipartUpload}: an upload still in progress the given days after it began is aborted.</li>
 * </ul>
 * Days are counted as S3 counts them: from the creation (or replacement) time, rounded up to the next midnight UTC.
 * Each rule acts on at most {@code batch} items per pass; what is left waits for the next pass. Content freed this
 * way is removed by the garbage collector after its grace period.
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
    private ScheduledExecutorService scheduler;
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
        int batch = settings.batch();
        for (String bucket : rules.bucketsWithRules()) {
            for (LifecycleRule r : rules.rules(bucket)) {
                if (!r.enabled()) {
                    continue;
                }
                Instant createdBefore = r.expirationDays() != null ? today.minus(r.expirationDays(), ChronoUnit.DAYS)
                        : r.expirationDate() != null && !now.isBefore(r.expirationDate()) ? now : null;
                if (createdBefore != null) {
                    for (ObjectRow o : rules.currentCreatedBefore(bucket, r.prefix(), createdBefore, batch)) {
                        objects.delete(bucket, o.key(), now);
                        n[0]++;
                    }
                }
                if (r.noncurrentDays() != null) {
                    Instant replacedBefore = today.minus(r.noncurrentDays(), ChronoUnit.DAYS);
                    int keep = r.newerNoncurrentVersions() == null ? 0 : r.newerNoncurrentVersions();
                    for (ObjectRow o : rules.noncurrentReplacedBefore(bucket, r.prefix(), replacedBefore, keep, batch)) {
                        if (objects.deleteVersion(bucket, o.key(), o.versionId(), now).isPresent()) {
                            n[1]++;
                        }
                    }
                }
                if (r.expiredObjectDeleteMarker()) {
                    for (ObjectRow o : rules.loneDeleteMarkers(bucket, r.prefix(), batch)) {
                        if (objects.deleteVersion(bucket, o.key(), o.versionId(), now).isPresent()) {
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
        }
        expired.increment(n[0]);
        noncurrentRemoved.increment(n[1]);
        markersRemoved.increment(n[2]);
        uploadsAborted.increment(n[3]);
        return new Pass(n[0], n[1], n[2], n[3]);
    }

    @Override
    public synchronized void start() {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cas-lifecycle");
            t.setDaemon(true);
            return t;
        });
        long every = settings.interval().toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                Pass p = runPass(clock.instant());
                if (p.expired() + p.noncurrentRemoved() + p.markersRemoved() + p.uploadsAborted() > 0) {
                    log.info("lifecycle pass: {}", p);
                }
            } catch (RuntimeException e) {
                log.error("lifecycle pass failed", e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
        running = true;
    }

    @Override
    public synchronized void stop() {
        running = false;
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
