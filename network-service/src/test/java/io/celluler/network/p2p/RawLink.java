package io.celluler.network.p2p;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.network.engine.Envelopes;
import io.celluler.network.engine.Hellos;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.LinkRequest;
import io.celluler.proto.p2p.v1.LinkResponse;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * A P2P link driven by hand, for tests that play a cell (honest or not): mutual TLS with a cell certificate of
 * its own, then whatever frames the test sends. Frames from the cell queue up; {@link #next} skips the cell's
 * own keep-alives and messages (route advertisements, gossip) and returns what answers the test.
 */
public final class RawLink implements AutoCloseable {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final CellIdentity me;
    private final ManagedChannel channel;
    private final BlockingQueue<LinkResponse> received = new LinkedBlockingQueue<>();
    private final CompletableFuture<Status> closed = new CompletableFuture<>();
    private final StreamObserver<LinkRequest> send;

    /** Opens a link as {@code me} to the cell {@code cellId} listening on 127.0.0.1:{@code port}. */
    public RawLink(CellIdentity me, int port, String cellId) {
        this.me = me;
        CellCertificates.TlsIdentity tls = CellCertificates.selfSigned(me, Instant.now(), Duration.ofDays(1));
        try {
            channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
                    .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()
                                    .keyManager(tls.privateKey(), tls.certificate()), SslProvider.JDK)
                            .protocols("TLSv1.3").trustManager(new CellTrustManager(cellId, Clock.systemUTC())).build())
                    .overrideAuthority("cell").build();
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
        send = P2PServiceGrpc.newStub(channel).link(new StreamObserver<>() {
            @Override
            public void onNext(LinkResponse r) {
                received.add(r);
            }

            @Override
            public void onError(Throwable t) {
                closed.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                closed.complete(Status.OK);
            }
        });
    }

    public static CellIdentity newCell() {
        return new CellIdentity(Ed25519.newPrivateSeed(new SecureRandom()));
    }

    public void frame(LinkFrame.Builder f) {
        send.onNext(LinkRequest.newBuilder().setFrame(f).build());
    }

    /** Sends {@code signer}'s fresh hello (the first frame of every link). */
    public void hello(CellIdentity signer) {
        frame(LinkFrame.newBuilder().setHello(helloOf(signer)));
    }

    public static Hello helloOf(CellIdentity signer) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        Instant now = Instant.now();
        return Hellos.seal(Hello.newBuilder().setNonce(ByteString.copyFrom(nonce))
                .setTimestamp(Timestamp.newBuilder().setSeconds(now.getEpochSecond())), signer);
    }

    /** A direct envelope from this link's cell to {@code destination}, signed at {@code at}. */
    public CellMessage envelope(String destination, String topic, Instant at, int payloadBytes) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return Envelopes.seal(CellMessage.newBuilder().setKind(MessageKind.MESSAGE_KIND_DIRECT).setTopic(topic)
                .setDestinationCellId(destination).setPayload(ByteString.copyFrom(new byte[payloadBytes]))
                .setTimestamp(Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()))
                .setNonce(ByteString.copyFrom(nonce)).setTtl(4), me);
    }

    /** The next frame that answers the test, or null after 10 s. */
    public LinkFrame next() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            LinkResponse r = received.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (r == null) {
                return null;
            }
            LinkFrame f = r.getFrame();
            if (!f.hasMessage() && !(f.hasKeepalive() && !f.getKeepalive().getReply())) {
                return f;
            }
        }
    }

    /** The next envelope the cell sent on {@code topic} (other frames are dropped), or null after 10 s. */
    public CellMessage nextMessage(String topic) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            LinkResponse r = received.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (r == null) {
                return null;
            }
            if (r.getFrame().hasMessage() && r.getFrame().getMessage().getTopic().equals(topic)) {
                return r.getFrame().getMessage();
            }
        }
    }

    /** The next frame already received that answers the test, or null (does not wait). */
    public LinkFrame poll() {
        LinkResponse r;
        while ((r = received.poll()) != null) {
            LinkFrame f = r.getFrame();
            if (!f.hasMessage() && !(f.hasKeepalive() && !f.getKeepalive().getReply())) {
                return f;
            }
        }
        return null;
    }

    /** How the cell ended the link (waits up to 10 s). */
    public Status closedWith() throws Exception {
        return closed.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
