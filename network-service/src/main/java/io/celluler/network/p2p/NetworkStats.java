package io.celluler.network.p2p;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.celluler.proto.p2p.v1.RejectReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.springframework.stereotype.Component;

/**
 * The network-service's counters, kept twice: as Micrometer meters for {@code /actuator/prometheus}
 * ({@code celluler.network.*}) and as plain numbers for {@code GetStats}. Topics are user-chosen, so at most
 * {@link #MAX_TOPICS} get their own series; the rest count under {@code other}.
 */
@Component
public class NetworkStats {

    static final int MAX_TOPICS = 256;
    private static final int RTT_SAMPLES = 1024;

    /** Counters of one topic. */
    public static final class Topic {
        public final LongAdder messagesIn = new LongAdder();
        public final LongAdder messagesOut = new LongAdder();
        public final LongAdder bytesIn = new LongAdder();
        public final LongAdder bytesOut = new LongAdder();
        private final Counter inMessages, outMessages, inBytes, outBytes;

        Topic(MeterRegistry meters, String topic) {
            inMessages = meters.counter("celluler.network.messages", "topic", topic, "direction", "in");
            outMessages = meters.counter("celluler.network.messages", "topic", topic, "direction", "out");
            inBytes = meters.counter("celluler.network.bytes", "topic", topic, "direction", "in");
            outBytes = meters.counter("celluler.network.bytes", "topic", topic, "direction", "out");
        }
    }

    private final MeterRegistry meters;
    private final Map<String, Topic> topics = new ConcurrentHashMap<>();
    private final Map<RejectReason, LongAdder> rejected = new ConcurrentHashMap<>();
    private final Map<RejectReason, Counter> rejectedCounters = new ConcurrentHashMap<>();
    private final LongAdder linksOpened = new LongAdder();
    private final AtomicInteger linksOpen = new AtomicInteger();
    private final LongAdder relayed = new LongAdder();
    private final LongAdder duplicates = new LongAdder();
    private final Timer rttTimer;
    private final long[] rttRing = new long[RTT_SAMPLES];
    private int rttCount;
    private final Counter relayedCounter;
    private final Counter duplicatesCounter;
    private final Counter linksOpenedCounter;

    public NetworkStats(MeterRegistry meters) {
        this.meters = meters;
        meters.gauge("celluler.network.links.open", linksOpen);
        linksOpenedCounter = meters.counter("celluler.network.links.opened");
        relayedCounter = meters.counter("celluler.network.messages.relayed");
        duplicatesCounter = meters.counter("celluler.network.messages.duplicates");
        rttTimer = Timer.builder("celluler.network.link.rtt").description("round trip of link keep-alives")
                .publishPercentileHistogram().publishPercentiles(0.5, 0.99).register(meters);
    }

    public MeterRegistry meters() {
        return meters;
    }

    Topic topic(String name) {
        Topic t = topics.get(name);
        if (t != null) {
            return t;
        }
        String key = topics.size() >= MAX_TOPICS ? "other" : name;
        return topics.computeIfAbsent(key, k -> new Topic(meters, k));
    }

    void in(String topic, int bytes) {
        Topic t = topic(topic);
        t.messagesIn.increment();
        t.bytesIn.add(bytes);
        t.inMessages.increment();
        t.inBytes.increment(bytes);
    }

    void out(String topic, int bytes) {
        Topic t = topic(topic);
        t.messagesOut.increment();
        t.bytesOut.add(bytes);
        t.outMessages.increment();
        t.outBytes.increment(bytes);
    }

    void rejected(RejectReason reason) {
        rejected.computeIfAbsent(reason, r -> new LongAdder()).increment();
        rejectedCounters.computeIfAbsent(reason,
                r -> meters.counter("celluler.network.envelopes.rejected", "reason", r.name())).increment();
    }

    void linkOpened() {
        linksOpened.increment();
        linksOpenedCounter.increment();
        linksOpen.incrementAndGet();
    }

    void linkClosed() {
        linksOpen.decrementAndGet();
    }

    void relayed() {
        relayed.increment();
        relayedCounter.increment();
    }

    void duplicate() {
        duplicates.increment();
        duplicatesCounter.increment();
    }

    void rtt(long nanos) {
        rttTimer.record(nanos, TimeUnit.NANOSECONDS);
        synchronized (rttRing) {
            rttRing[rttCount++ % RTT_SAMPLES] = nanos;
        }
    }

    // ---- views for GetStats ---------------------------------------------------------------------------

    public Map<String, Topic> topics() {
        return new TreeMap<>(topics);
    }

    /** Rejects by reason name without the {@code REJECT_REASON_} prefix. */
    public Map<String, Long> rejectedByReason() {
        Map<String, Long> out = new TreeMap<>();
        rejected.forEach((r, n) -> out.put(r.name().substring("REJECT_REASON_".length()), n.sum()));
        return out;
    }

    public int linksOpen() {
        return linksOpen.get();
    }

    public long linksOpened() {
        return linksOpened.sum();
    }

    public long relayedTotal() {
        return relayed.sum();
    }

    public long duplicatesTotal() {
        return duplicates.sum();
    }

    /** The given percentile (0–1) of the last {@value #RTT_SAMPLES} link round trips, or null without samples. */
    public Duration rttPercentile(double p) {
        long[] copy;
        synchronized (rttRing) {
            copy = Arrays.copyOf(rttRing, Math.min(rttCount, RTT_SAMPLES));
        }
        if (copy.length == 0) {
            return null;
        }
        Arrays.sort(copy);
        return Duration.ofNanos(copy[Math.min(copy.length - 1, (int) Math.ceil(p * copy.length) - 1)]);
    }
}
