package io.celluler.network.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.RejectReason;
import org.junit.jupiter.api.Test;

/** Issue 3 §3: signed envelopes, verified on receipt, replay protection by timestamp window and nonce cache. */
class EnvelopeVerifierTest {

    static final long NOW = 1_800_000_000_000L;
    static final long WINDOW = 30_000;

    final Random random = new Random(42);
    final CellIdentity alice = new CellIdentity(seed());
    final CellIdentity bob = new CellIdentity(seed());
    final EnvelopeVerifier verifier = new EnvelopeVerifier(new EnvelopeVerifier.Limits(WINDOW, 1000, 2 << 20, 1 << 20));

    byte[] seed() {
        byte[] s = new byte[32];
        random.nextBytes(s);
        return s;
    }

    CellMessage.Builder draft(long timestampMillis) {
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        return CellMessage.newBuilder()
                .setKind(MessageKind.MESSAGE_KIND_DIRECT)
                .setTopic("catalog.delta")
                .setDestinationCellId(bob.cellId())
                .setPayload(ByteString.copyFromUtf8("hello bob"))
                .setTimestamp(Timestamp.newBuilder().setSeconds(timestampMillis / 1000)
                        .setNanos((int) (timestampMillis % 1000) * 1_000_000))
                .setNonce(ByteString.copyFrom(nonce))
                .setTtl(8);
    }

    CellMessage sealed(long ts) {
        return Envelopes.seal(draft(ts), alice);
    }

    RejectReason reason(CellMessage m) {
        return verifier.verify(m, NOW).reason();
    }

    @Test
    void aSealedEnvelopeIsAcceptedAndItsIdNamesItsContent() {
        CellMessage m = sealed(NOW);

        assertThat(verifier.verify(m, NOW).accepted()).isTrue();
        assertThat(m.getMessageId()).isEqualTo(io.celluler.core.hash.Sha256.hexOf(Envelopes.signingBytes(m)));
        assertThat(m.getSourceCellId()).isEqualTo(alice.cellId());
    }

    @Test
    void theSignatureIsOverTheDigestOfTheSigningBytes() {
        CellMessage m = sealed(NOW);
        byte[] digest = io.celluler.core.hash.Sha256.newDigest().digest(Envelopes.signingBytes(m));

        assertThat(m.getVersion()).isEqualTo(2);
        assertThat(Ed25519.verify(alice.publicKey(), digest, m.getSignature().toByteArray())).isTrue();
        assertThat(Ed25519.verify(alice.publicKey(), Envelopes.signingBytes(m), m.getSignature().toByteArray())).isFalse();
        // a version-1 envelope (signed over the signing bytes themselves) is refused for its version
        CellMessage v1 = m.toBuilder().setVersion(1).build();
        CellMessage resigned = v1.toBuilder().setSignature(ByteString.copyFrom(alice.sign(Envelopes.signingBytes(v1)))).build();
        assertThat(reason(resigned)).isEqualTo(RejectReason.REJECT_REASON_UNSUPPORTED_VERSION);
    }

    @Test
    void relaysMayChangeTheHopFieldsOnly() {
        CellMessage relayed = sealed(NOW).toBuilder().setTtl(3).addRelayPath(bob.cellId()).build();
        CellMessage tampered = sealed(NOW).toBuilder().setPayload(ByteString.copyFromUtf8("hello eve")).build();
        CellMessage rerouted = sealed(NOW).toBuilder().setDestinationCellId(alice.cellId()).build();

        assertThat(verifier.verify(relayed, NOW).accepted()).isTrue();
        assertThat(reason(tampered)).isEqualTo(RejectReason.REJECT_REASON_BAD_SIGNATURE);
        assertThat(reason(rerouted)).isEqualTo(RejectReason.REJECT_REASON_BAD_SIGNATURE);
    }

    @Test
    void forgedSignaturesAndImpersonationAreRejected() {
        CellMessage m = sealed(NOW);
        byte[] sig = m.getSignature().toByteArray();
        sig[0] ^= 1;
        // eve signs with her own key but claims to be alice
        CellIdentity eve = new CellIdentity(seed());
        CellMessage impersonation = Envelopes.seal(draft(NOW), eve).toBuilder().setSourceCellId(alice.cellId()).build();
        // eve presents alice's key with her own signature
        CellMessage wrongKey = Envelopes.seal(draft(NOW), eve).toBuilder()
                .setSourceCellId(alice.cellId()).setSourcePublicKey(ByteString.copyFrom(alice.publicKey())).build();

        assertThat(reason(m.toBuilder().setSignature(ByteString.copyFrom(sig)).build()))
                .isEqualTo(RejectReason.REJECT_REASON_BAD_SIGNATURE);
        assertThat(reason(impersonation)).isEqualTo(RejectReason.REJECT_REASON_BAD_SIGNATURE);
        assertThat(reason(wrongKey)).isEqualTo(RejectReason.REJECT_REASON_BAD_SIGNATURE);
        assertThat(reason(m.toBuilder().setMessageId("0".repeat(64)).build()))
                .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
    }

    @Test
    void replaysAreRejectedWithinTheWindowAndStaleTimestampsOutsideIt() {
        CellMessage m = sealed(NOW - 1000);

        assertThat(verifier.verify(m, NOW).accepted()).isTrue();
        assertThat(reason(m)).isEqualTo(RejectReason.REJECT_REASON_REPLAYED_NONCE);
        // the same envelope later, once the window passed: stale, not accepted again
        assertThat(verifier.verify(m, NOW + WINDOW + 5000).reason()).isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        assertThat(reason(sealed(NOW - WINDOW - 1))).isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        assertThat(reason(sealed(NOW + WINDOW + 1))).isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        // the same nonce from another source is another message
        CellMessage.Builder fromBob = draft(NOW).setNonce(m.getNonce()).setDestinationCellId(alice.cellId());
        assertThat(verifier.verify(Envelopes.seal(fromBob, bob), NOW).accepted()).isTrue();
    }

    @Test
    void aFullNonceCacheRaisesItsFloorInsteadOfForgetting() {
        EnvelopeVerifier small = new EnvelopeVerifier(new EnvelopeVerifier.Limits(WINDOW, 3, 2 << 20, 1 << 20));
        CellMessage first = sealed(NOW - 400);
        for (CellMessage m : new CellMessage[] {first, sealed(NOW - 300), sealed(NOW - 200), sealed(NOW - 100)}) {
            assertThat(small.verify(m, NOW).accepted()).isTrue();
        }

        assertThat(small.remembered()).isEqualTo(3);
        // the first nonce was forgotten, so anything not newer than it is refused: the replay stays impossible
        assertThat(small.verify(first, NOW).reason()).isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        assertThat(small.verify(sealed(NOW - 400), NOW).reason()).isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        assertThat(small.verify(sealed(NOW - 50), NOW).accepted()).isTrue();
    }

    @Test
    void oversizedAndMalformedEnvelopesAreRejected() {
        EnvelopeVerifier strict = new EnvelopeVerifier(new EnvelopeVerifier.Limits(WINDOW, 1000, 4096, 1024));

        assertThat(strict.verify(Envelopes.seal(draft(NOW).setPayload(ByteString.copyFrom(new byte[2000])), alice), NOW)
                .reason()).isEqualTo(RejectReason.REJECT_REASON_OVERSIZED);
        assertThat(strict.verify(Envelopes.seal(draft(NOW).addRelayPath("x".repeat(5000)), alice), NOW).reason())
                .isEqualTo(RejectReason.REJECT_REASON_OVERSIZED);
        assertThat(reason(Envelopes.seal(draft(NOW).setTopic("Bad Topic!"), alice)))
                .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(Envelopes.seal(draft(NOW).clearKind(), alice))).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(Envelopes.seal(draft(NOW).setNonce(ByteString.copyFrom(new byte[3])), alice)))
                .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(Envelopes.seal(draft(NOW).clearTimestamp(), alice))).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(Envelopes.seal(draft(NOW).setDestinationCellId(""), alice)))
                .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(sealed(NOW).toBuilder().setVersion(3).build()))
                .isEqualTo(RejectReason.REJECT_REASON_UNSUPPORTED_VERSION);
        assertThat(reason(CellMessage.getDefaultInstance())).isEqualTo(RejectReason.REJECT_REASON_UNSUPPORTED_VERSION);
        assertThat(reason(sealed(NOW).toBuilder().setSourcePublicKey(ByteString.copyFrom(new byte[Ed25519.KEY_BYTES - 1]))
                .build())).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
    }

    @Test
    void theUnsignedHopFieldsAreBoundedAndFarFutureStampsAreRefused() {
        CellMessage ok = sealed(NOW);
        CellMessage longPath = ok.toBuilder().clearRelayPath()
                .addAllRelayPath(java.util.Collections.nCopies(EnvelopeVerifier.MAX_HOPS + 1, bob.cellId())).build();
        CellMessage garbagePath = ok.toBuilder().addRelayPath("not a cell id").build();
        CellMessage hugeTtl = ok.toBuilder().setTtl(1_000).build();
        CellMessage tooEarly = sealed(NOW + EnvelopeVerifier.MAX_FUTURE_SKEW_MILLIS + 1_000);
        CellMessage slightlyAhead = sealed(NOW + 2_000);

        assertThat(reason(longPath)).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(garbagePath)).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(hugeTtl)).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
        assertThat(reason(tooEarly)).as("30 s ahead would push the nonce cache's floor past honest traffic")
                .isEqualTo(RejectReason.REJECT_REASON_STALE_TIMESTAMP);
        assertThat(verifier.verify(slightlyAhead, NOW).accepted()).as("clock skew of a few seconds is fine").isTrue();
        // the hop fields are not signed: a relay's changes within the bounds keep the signature valid
        assertThat(verifier.verify(ok.toBuilder().setTtl(3).addRelayPath(bob.cellId()).build(), NOW).accepted()).isTrue();
    }
}
