package io.celluler.network.p2p;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import io.celluler.network.NetworkServiceApplication;
import io.celluler.network.engine.Envelopes;
import io.celluler.network.engine.Hellos;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.Hello;
import io.celluler.proto.p2p.v1.Keepalive;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.LinkRequest;
import io.celluler.proto.p2p.v1.LinkResponse;
import io.celluler.proto.p2p.v1.MessageKind;
import io.celluler.proto.p2p.v1.P2PServiceGrpc;
import io.celluler.proto.p2p.v1.RejectReason;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Issue 3 §2–§3 against a real network-service over loopback: a link opens with a hello exchange bound to the
 * TLS identity; forged, replayed, stale, oversized and malformed envelopes are rejected with their reason and
 * counted (the service carries on); a peer that keeps sending bad ones is blacklisted.
 */
class P2pLinkIT {

    @TempDir
    Path dataDir;

    ConfigurableApplicationContext cell;
    String cellId;
    int p2pPort;
    final java.util.List<RawLink> links = new java.util.ArrayList<>();

    @BeforeEach
    void start() {
        cell = CellulerApplication.builder(NetworkServiceApplication.class, NetworkServiceApplication.NAME)
                .run("--celluler.data-dir=" + dataDir, "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1",
                        "--celluler.network.p2p-port=0", "--celluler.network.max-payload-bytes=1000",
                        "--celluler.network.blacklist-threshold=8");
        P2pServer server = cell.getBean(P2pServer.class);
        p2pPort = Integer.parseInt(server.listenAddress().split(":")[1]);
        cellId = cell.getBean(CellIdentity.class).cellId();
    }

    @AfterEach
    void stop() {
        links.forEach(RawLink::close);
        cell.close();
    }

    RawLink link(CellIdentity me) {
        RawLink l = new RawLink(me, p2pPort, cellId);
        links.add(l);
        return l;
    }

    double rejected(RejectReason reason) {
        var c = cell.getBean(MeterRegistry.class).find("celluler.network.envelopes.rejected")
                .tag("reason", reason.name()).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aLinkOpensWithHellosAndCarriesVerifiedEnvelopes() throws Exception {
        CellIdentity a = RawLink.newCell();
        RawLink link = link(a);

        link.hello(a);
        Hello theirs = link.next().getHello();
        link.frame(LinkFrame.newBuilder().setKeepalive(Keepalive.newBuilder().setSeqNo(7)));
        LinkFrame pong = link.next();
        CellMessage good = link.envelope(cellId, "test.echo", Instant.now(), 10);
        link.frame(LinkFrame.newBuilder().setMessage(good));
        LinkFrame ack = link.next();

        assertThat(Hellos.verify(theirs)).isTrue();
        assertThat(theirs.getCellId()).isEqualTo(cellId);
        assertThat(pong.getKeepalive().getReply()).isTrue();
        assertThat(pong.getKeepalive().getSeqNo()).isEqualTo(7);
        assertThat(ack.getAck().getMessageId()).isEqualTo(good.getMessageId());
        // it verified; nobody on this cell subscribes to the topic
        assertThat(ack.getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_TOPIC);
    }

    @Test
    void badEnvelopesAreRejectedByReasonCountedAndTheirSenderBlacklisted() throws Exception {
        CellIdentity a = RawLink.newCell();
        RawLink link = link(a);
        link.hello(a);
        link.next();
        CellMessage good = link.envelope(cellId, "test.echo", Instant.now(), 10);
        link.frame(LinkFrame.newBuilder().setMessage(good));
        link.next();

        CellMessage forged = good.toBuilder().setPayload(ByteString.copyFromUtf8("changed")).build();
        // the same nonce on another envelope, properly signed: a replay
        CellMessage replayed = io.celluler.network.engine.Envelopes.seal(good.toBuilder().clearMessageId().clearSignature()
                .setPayload(ByteString.copyFromUtf8("other")), a);
        CellMessage stale = link.envelope(cellId, "test.echo", Instant.now().minus(Duration.ofMinutes(5)), 10);
        CellMessage oversized = link.envelope(cellId, "test.echo", Instant.now(), 2000);
        CellMessage malformed = link.envelope(cellId, "test.echo", Instant.now(), 10).toBuilder().setTopic("No Such Topic!").build();
        CellMessage[] bad = {forged, replayed, stale, oversized, malformed};
        RejectReason[] expected = {RejectReason.REJECT_REASON_BAD_SIGNATURE, RejectReason.REJECT_REASON_REPLAYED_NONCE,
                RejectReason.REJECT_REASON_STALE_TIMESTAMP, RejectReason.REJECT_REASON_OVERSIZED,
                RejectReason.REJECT_REASON_MALFORMED};
        for (int i = 0; i < bad.length; i++) {
            link.frame(LinkFrame.newBuilder().setMessage(bad[i]));
            assertThat(link.next().getAck().getRejectReason()).as("envelope " + i).isEqualTo(expected[i]);
        }
        assertThat(rejected(RejectReason.REJECT_REASON_BAD_SIGNATURE)).isEqualTo(1);
        assertThat(rejected(RejectReason.REJECT_REASON_MALFORMED)).isEqualTo(1);
        assertThat(rejected(RejectReason.REJECT_REASON_REPLAYED_NONCE)).isEqualTo(1);
        assertThat(rejected(RejectReason.REJECT_REASON_STALE_TIMESTAMP)).isEqualTo(1);
        assertThat(rejected(RejectReason.REJECT_REASON_OVERSIZED)).isEqualTo(1);

        // an identical copy of an envelope already judged gets the same answer (a sender's retry looks like that)
        link.frame(LinkFrame.newBuilder().setMessage(good));
        assertThat(link.next().getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_TOPIC);

        // a replay is not held against the link (its nonce cache is this cell's, not the peer's), the other four
        // are: four more bad ones reach the threshold (8), the link is cut and the cell refuses new ones
        for (int i = 0; i < 4; i++) {
            link.frame(LinkFrame.newBuilder().setMessage(forged));
        }
        Status cut = link.closedWith();
        assertThat(cut.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        RawLink again = link(a);
        again.hello(a);
        assertThat(again.closedWith().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(rejected(RejectReason.REJECT_REASON_BLACKLISTED)).isEqualTo(1);
        // the service is fine: another cell still links
        CellIdentity b = RawLink.newCell();
        RawLink other = link(b);
        other.hello(b);
        assertThat(other.next().getHello().getCellId()).isEqualTo(cellId);
    }

    @Test
    void aHelloMustComeFirstAndBeFromTheCellTheCertificateProved() throws Exception {
        CellIdentity a = RawLink.newCell();
        CellIdentity b = RawLink.newCell();

        RawLink noHello = link(a);
        noHello.frame(LinkFrame.newBuilder().setKeepalive(Keepalive.newBuilder().setSeqNo(1)));
        RawLink someoneElsesHello = link(a);
        someoneElsesHello.hello(b);
        RawLink forgedHello = link(a);
        forgedHello.frame(LinkFrame.newBuilder().setHello(RawLink.helloOf(a).toBuilder().setSoftwareVersion("x")));

        assertThat(noHello.closedWith().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(someoneElsesHello.closedWith().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(forgedHello.closedWith().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    @Test
    void aRouteAdvertisementWithAnImpossibleHopCountIsMalformed() throws Exception {
        CellIdentity a = RawLink.newCell();
        RawLink link = link(a);
        link.hello(a);
        link.next();
        io.celluler.proto.p2p.v1.RouteAdvertisement ad = io.celluler.proto.p2p.v1.RouteAdvertisement.newBuilder()
                .addRoutes(io.celluler.proto.p2p.v1.RouteEntry.newBuilder().setCellId(RawLink.newCell().cellId())
                        .setHops(-1)) // uint32 4294967295 on the wire
                .build();
        CellMessage m = link.envelope(cellId, "p2p.routes", Instant.now(), 0).toBuilder()
                .setPayload(ad.toByteString()).build();
        m = io.celluler.network.engine.Envelopes.seal(m.toBuilder().clearMessageId().clearSignature(), a);
        link.frame(LinkFrame.newBuilder().setMessage(m));
        assertThat(link.next().getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
    }

    @Test
    void aSendIsRetriedUntilAcknowledgedAndARetriedEnvelopeIsDeliveredOnce() throws Exception {
        CellIdentity f = RawLink.newCell();
        RawLink link = link(f);
        link.hello(f);
        assertThat(link.next().hasHello()).isTrue();
        io.grpc.ManagedChannel api = io.grpc.ManagedChannelBuilder.forAddress("127.0.0.1",
                cell.getBean(org.springframework.grpc.server.lifecycle.GrpcServerLifecycle.class).getPort()).usePlaintext().build();
        try {
            // the cell sends to f and waits for the acknowledgement; f ignores the first copy
            var sent = io.celluler.proto.network.v1.NetworkServiceGrpc.newFutureStub(api).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .send(io.celluler.proto.network.v1.SendRequest.newBuilder().setDestinationCellId(f.cellId())
                            .setTopic("test.retry").setWaitForAck(true).build());
            CellMessage first = link.nextMessage("test.retry");
            CellMessage again = link.nextMessage("test.retry");
            assertThat(again.getMessageId()).as("the retry is the same signed envelope").isEqualTo(first.getMessageId());
            link.frame(LinkFrame.newBuilder().setAck(io.celluler.proto.p2p.v1.DeliveryAck.newBuilder()
                    .setMessageId(again.getMessageId()).setDelivered(true)));
            assertThat(sent.get(10, TimeUnit.SECONDS).getAcknowledged()).isTrue();

            // f sends one envelope twice (its ack was lost, say): both acknowledged, delivered once
            var inbox = io.celluler.network.grpc.TopicInbox.subscribe(api, "test.once");
            Thread.sleep(300);
            CellMessage once = link.envelope(cellId, "test.once", Instant.now(), 10);
            link.frame(LinkFrame.newBuilder().setMessage(once));
            LinkFrame ack1 = link.next();
            link.frame(LinkFrame.newBuilder().setMessage(once));
            LinkFrame ack2 = link.next();
            assertThat(ack1.getAck().getDelivered()).isTrue();
            assertThat(ack2.getAck().getDelivered()).isTrue();
            assertThat(ack2.getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_UNSPECIFIED);
            assertThat(inbox.poll(5, TimeUnit.SECONDS)).isNotNull();
            assertThat(inbox.poll(500, TimeUnit.MILLISECONDS)).as("delivered once").isNull();
            assertThat(rejected(RejectReason.REJECT_REASON_REPLAYED_NONCE)).as("a retry is not a reject").isZero();
        } finally {
            api.shutdownNow();
        }
    }
}
