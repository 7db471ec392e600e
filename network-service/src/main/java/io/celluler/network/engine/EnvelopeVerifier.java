package io.celluler.network.engine;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import io.celluler.core.hash.Sha256;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.RejectReason;

/**
 * Checks every received envelope before anything else looks at it (issue 3 §3): format, size, that the key
 * derives to the claimed source, the signature, the timestamp window, and that (source, nonce) was not seen.
 *
 * <p>Replay protection is a timestamp window plus a bounded nonce cache. The bound is safe: when the cache is
 * full it forgets its oldest entry and raises its <em>floor</em> to that entry's timestamp, so from then on any
 * envelope not newer than the floor is refused as stale — a nonce it can no longer remember can never be
 * replayed. Under a flood the window shrinks; it is never wrong.
 *
 * <p>Pure (DESIGN §6): the caller passes the time. Safe for concurrent callers: the stateless checks (the
 * signature above all) run in parallel and only the nonce cache is serialised.
 */
public final class EnvelopeVerifier {

    /** Limits of the checks. */
    public record Limits(long replayWindowMillis, int nonceCacheCapacity, int maxEnvelopeBytes, int maxPayloadBytes) {

        public Limits {
            if (replayWindowMillis <= 0 || nonceCacheCapacity <= 0 || maxEnvelopeBytes <= 0 || maxPayloadBytes <= 0) {
                throw new IllegalArgumentException("limits must be positive");
            }
        }
    }

    private static final Pattern TOPIC = Pattern.compile("[a-z0-9._-]{1,128}");
    /** How far ahead of this cell's clock a timestamp may be (clock skew between cells). */
    public static final long MAX_FUTURE_SKEW_MILLIS = 5_000;
    /** Hop fields are not signed: bounded so that nobody can inflate an envelope in transit. */
    public static final int MAX_HOPS = 32;

    private record Seen(long timestampMillis, String source, String nonceHex) implements Comparable<Seen> {
        @Override
        public int compareTo(Seen o) {
            int c = Long.compare(timestampMillis, o.timestampMillis);
            if (c == 0) {
                c = source.compareTo(o.source);
            }
            return c != 0 ? c : nonceHex.compareTo(o.nonceHex);
        }
    }

    private final Limits limits;
    private final TreeSet<Seen> byAge = new TreeSet<>();
    private final Set<String> keys = new HashSet<>();
    private long floorMillis = Long.MIN_VALUE;

    public EnvelopeVerifier(Limits limits) {
        this.limits = limits;
    }

    public Verdict verify(CellMessage m, long nowMillis) {
        int size = m.getSerializedSize();
        if (size > limits.maxEnvelopeBytes()) {
            return Verdict.reject(RejectReason.REJECT_REASON_OVERSIZED, size + " bytes > " + limits.maxEnvelopeBytes());
        }
        if (m.getPayload().size() > limits.maxPayloadBytes()) {
            return Verdict.reject(RejectReason.REJECT_REASON_OVERSIZED,
                    "payload " + m.getPayload().size() + " bytes > " + limits.maxPayloadBytes());
        }
        if (m.getVersion() != Envelopes.VERSION) {
            return Verdict.reject(RejectReason.REJECT_REASON_UNSUPPORTED_VERSION, "version " + m.getVersion());
        }
        String malformed = malformed(m);
        if (malformed != null) {
            return Verdict.reject(RejectReason.REJECT_REASON_MALFORMED, malformed);
        }
        byte[] publicKey = m.getSourcePublicKey().toByteArray();
        if (!CellIdentity.cellIdOf(publicKey).equals(m.getSourceCellId())) {
            return Verdict.reject(RejectReason.REJECT_REASON_BAD_SIGNATURE, "the key does not derive to the source id");
        }
        byte[] digest = Envelopes.digest(m);
        if (!Ed25519.verify(publicKey, digest, m.getSignature().toByteArray())) {
            return Verdict.reject(RejectReason.REJECT_REASON_BAD_SIGNATURE, "signature does not verify");
        }
        if (!Sha256.hex(digest).equals(m.getMessageId())) {
            return Verdict.reject(RejectReason.REJECT_REASON_MALFORMED, "message_id is not the hash of the content");
        }
        long ts = m.getTimestamp().getSeconds() * 1000 + m.getTimestamp().getNanos() / 1_000_000;
        if (ts - nowMillis > Math.min(MAX_FUTURE_SKEW_MILLIS, limits.replayWindowMillis())) {
            // far-future stamps would sit in the nonce cache and push its floor ahead of honest traffic
            return Verdict.reject(RejectReason.REJECT_REASON_STALE_TIMESTAMP,
                    "timestamp " + (ts - nowMillis) + " ms in the future, at most " + MAX_FUTURE_SKEW_MILLIS + " ms allowed");
        }
        if (nowMillis - ts > limits.replayWindowMillis()) {
            return Verdict.reject(RejectReason.REJECT_REASON_STALE_TIMESTAMP,
                    "timestamp " + (ts - nowMillis) + " ms from now, window ±" + limits.replayWindowMillis() + " ms");
        }
        return remember(m, ts, nowMillis);
    }

    /** The replay check, the only part with state: serialised, the signature checks above run in parallel. */
    private synchronized Verdict remember(CellMessage m, long ts, long nowMillis) {
        expire(nowMillis);
        if (ts <= floorMillis) {
            return Verdict.reject(RejectReason.REJECT_REASON_STALE_TIMESTAMP,
                    "older than what the bounded nonce cache still remembers");
        }
        String nonceHex = java.util.HexFormat.of().formatHex(m.getNonce().toByteArray());
        String key = m.getSourceCellId() + "/" + nonceHex;
        if (!keys.add(key)) {
            return Verdict.reject(RejectReason.REJECT_REASON_REPLAYED_NONCE, "nonce already seen from this source");
        }
        byAge.add(new Seen(ts, m.getSourceCellId(), nonceHex));
        while (byAge.size() > limits.nonceCacheCapacity()) {
            Seen oldest = byAge.pollFirst();
            keys.remove(oldest.source() + "/" + oldest.nonceHex());
            floorMillis = Math.max(floorMillis, oldest.timestampMillis());
        }
        return Verdict.ACCEPTED;
    }

    /** Entries older than the window can go: their envelopes are refused as stale anyway. */
    private void expire(long nowMillis) {
        long horizon = nowMillis - limits.replayWindowMillis();
        while (!byAge.isEmpty() && byAge.first().timestampMillis() < horizon) {
            Seen old = byAge.pollFirst();
            keys.remove(old.source() + "/" + old.nonceHex());
        }
    }

    /** Nonces remembered now (for metrics and tests). */
    public synchronized int remembered() {
        return byAge.size();
    }

    private static String malformed(CellMessage m) {
        if (m.getKind() == MessageKind.MESSAGE_KIND_UNSPECIFIED || m.getKind() == MessageKind.UNRECOGNIZED) {
            return "kind is missing";
        }
        if (!TOPIC.matcher(m.getTopic()).matches()) {
            return "topic must be 1-128 characters of [a-z0-9._-]";
        }
        if (!Sha256.isCanonicalHex(m.getSourceCellId())) {
            return "source_cell_id must be 64 lowercase hex characters";
        }
        if (m.getSourcePublicKey().size() != Ed25519.KEY_BYTES) {
            return "source_public_key must be " + Ed25519.KEY_BYTES + " bytes";
        }
        if (m.getSignature().size() != Ed25519.SIGNATURE_BYTES) {
            return "signature must be " + Ed25519.SIGNATURE_BYTES + " bytes";
        }
        if (m.getNonce().size() != Envelopes.NONCE_BYTES) {
            return "nonce must be " + Envelopes.NONCE_BYTES + " bytes";
        }
        if (!m.hasTimestamp()) {
            return "timestamp is missing";
        }
        if (m.getTtl() > MAX_HOPS || m.getRelayPathCount() > MAX_HOPS) {
            return "ttl and relay_path are limited to " + MAX_HOPS + " hops";
        }
        for (String hop : m.getRelayPathList()) {
            if (!Sha256.isCanonicalHex(hop)) {
                return "relay_path entries must be cell ids";
            }
        }
        boolean needsDestination = m.getKind() != MessageKind.MESSAGE_KIND_BROADCAST;
        if (needsDestination && !Sha256.isCanonicalHex(m.getDestinationCellId())) {
            return "destination_cell_id must be 64 lowercase hex characters";
        }
        if (!needsDestination && !m.getDestinationCellId().isEmpty()) {
            return "a broadcast has no destination";
        }
        return null;
    }
}
