package io.celluler.network.p2p;

import java.time.Clock;

import io.celluler.network.engine.Blacklist;
import io.celluler.network.engine.EnvelopeVerifier;
import io.celluler.network.engine.Hellos;
import io.celluler.network.engine.Verdict;
import io.celluler.proto.p2p.v1.DeliveryAck;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.Keepalive;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.LinkRequest;
import io.celluler.proto.p2p.v1.LinkResponse;
import io.celluler.proto.p2p.v1.RejectReason;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * The accepting side of one link (issue 3 §2, §3). The first frame must be the peer's signed hello, for the
 * very cell its TLS certificate proved; this side answers with its own. Then: keep-alives are answered,
 * envelopes are verified ({@link EnvelopeVerifier}) and acknowledged — rejected ones with their reason, counted,
 * and a peer that keeps sending bad ones is blacklisted and cut off. Delivery to local subscribers comes with
 * routing: until then an envelope that verifies is acknowledged as {@code UNKNOWN_TOPIC}.
 */
final class LinkSession implements StreamObserver<LinkRequest> {

    /** What the session reports to the listener (metrics, blacklist). */
    interface Observer {
        void rejected(String peer, RejectReason reason);
    }

    private final String peerCellId;
    private final StreamObserver<LinkResponse> out;
    private final java.util.function.Supplier<Hello> ownHello;
    private final EnvelopeVerifier verifier;
    private final Blacklist blacklist;
    private final Observer observer;
    private final Clock clock;
    private final long helloWindowMillis;
    private boolean greeted;
    private boolean closed;

    LinkSession(String peerCellId, StreamObserver<LinkResponse> out, java.util.function.Supplier<Hello> ownHello,
            EnvelopeVerifier verifier, Blacklist blacklist, Observer observer, Clock clock, long helloWindowMillis) {
        this.peerCellId = peerCellId;
        this.out = out;
        this.ownHello = ownHello;
        this.verifier = verifier;
        this.blacklist = blacklist;
        this.observer = observer;
        this.clock = clock;
        this.helloWindowMillis = helloWindowMillis;
    }

    @Override
    public void onNext(LinkRequest request) {
        if (closed) {
            return;
        }
        LinkFrame frame = request.getFrame();
        long now = clock.millis();
        if (!greeted) {
            if (!frame.hasHello()) {
                close(Status.INVALID_ARGUMENT.withDescription("the first frame of a link must be a hello"));
                return;
            }
            Hello h = frame.getHello();
            long ts = h.getTimestamp().getSeconds() * 1000 + h.getTimestamp().getNanos() / 1_000_000;
            if (!Hellos.verify(h)) {
                close(Status.PERMISSION_DENIED.withDescription("the hello's signature does not verify"));
            } else if (!h.getCellId().equals(peerCellId)) {
                close(Status.PERMISSION_DENIED.withDescription("the hello is from " + h.getCellId()
                        + " but the TLS certificate from " + peerCellId));
            } else if (Math.abs(now - ts) > helloWindowMillis) {
                close(Status.PERMISSION_DENIED.withDescription("the hello's timestamp is outside the window"));
            } else {
                greeted = true;
                out.onNext(response(LinkFrame.newBuilder().setHello(ownHello.get())));
            }
            return;
        }
        switch (frame.getFrameCase()) {
            case KEEPALIVE -> {
                if (!frame.getKeepalive().getReply()) {
                    out.onNext(response(LinkFrame.newBuilder().setKeepalive(Keepalive.newBuilder()
                            .setSeqNo(frame.getKeepalive().getSeqNo()).setReply(true))));
                }
            }
            case MESSAGE -> {
                Verdict verdict;
                synchronized (verifier) {
                    verdict = verifier.verify(frame.getMessage(), now);
                }
                RejectReason reason = verdict.accepted() ? RejectReason.REJECT_REASON_UNKNOWN_TOPIC : verdict.reason();
                if (!verdict.accepted()) {
                    observer.rejected(peerCellId, reason);
                    boolean banned;
                    synchronized (blacklist) {
                        banned = blacklist.recordReject(peerCellId, now);
                    }
                    if (banned) {
                        close(Status.PERMISSION_DENIED.withDescription("blacklisted: too many bad messages"));
                        return;
                    }
                }
                out.onNext(response(LinkFrame.newBuilder().setAck(DeliveryAck.newBuilder()
                        .setMessageId(frame.getMessage().getMessageId()).setRejectReason(reason))));
            }
            case GOODBYE -> {
                closed = true;
                out.onCompleted();
            }
            case HELLO -> close(Status.INVALID_ARGUMENT.withDescription("a second hello on a link"));
            default -> {
                observer.rejected(peerCellId, RejectReason.REJECT_REASON_MALFORMED);
                out.onNext(response(LinkFrame.newBuilder().setAck(DeliveryAck.newBuilder()
                        .setRejectReason(RejectReason.REJECT_REASON_MALFORMED))));
            }
        }
    }

    private static LinkResponse response(LinkFrame.Builder frame) {
        return LinkResponse.newBuilder().setFrame(frame).build();
    }

    private void close(Status status) {
        closed = true;
        out.onError(status.asRuntimeException());
    }

    @Override
    public void onError(Throwable t) {
        closed = true;
    }

    @Override
    public void onCompleted() {
        if (!closed) {
            closed = true;
            out.onCompleted();
        }
    }
}
