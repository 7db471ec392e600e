package io.celluler.network.p2p;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.NetworkServiceApplication;
import io.celluler.proto.network.v1.ConnectPeerRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.p2p.v1.GoodbyeReason;
import io.celluler.proto.p2p.v1.Keepalive;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * Issue 3 §2, the limits of links against a real network-service: a cap on open links and a rate limit on new
 * ones (both refused with a goodbye that says why and when to retry), silent links closed after three missed
 * keep-alives, idle links closed, and redials of an unreachable address backed off.
 */
class LinkLimitsIT {

    @TempDir
    Path dataDir;

    ConfigurableApplicationContext cell;
    final List<RawLink> links = new ArrayList<>();
    ManagedChannel api;

    void start(String... settings) {
        List<String> args = new ArrayList<>(List.of("--celluler.data-dir=" + dataDir, "--server.port=0",
                "--server.address=127.0.0.1", "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1",
                "--celluler.network.p2p-port=0"));
        for (String s : settings) {
            args.add("--celluler.network." + s);
        }
        cell = CellulerApplication.builder(NetworkServiceApplication.class, NetworkServiceApplication.NAME)
                .run(args.toArray(String[]::new));
    }

    @AfterEach
    void stop() {
        links.forEach(RawLink::close);
        if (api != null) {
            api.shutdownNow();
        }
        cell.close();
    }

    RawLink link() {
        CellIdentity me = RawLink.newCell();
        int port = Integer.parseInt(cell.getBean(P2pServer.class).listenAddress().split(":")[1]);
        RawLink l = new RawLink(me, port, cell.getBean(CellIdentity.class).cellId());
        links.add(l);
        l.hello(me);
        return l;
    }

    @Test
    void tooManyLinksAndLinksOpenedTooFastAreRefusedWithAGoodbye() throws Exception {
        start("links.max-links=2", "links.inbound-per-second=1", "links.inbound-burst=3");
        RawLink a = link();
        RawLink b = link();
        assertThat(a.next().hasHello()).isTrue();
        assertThat(b.next().hasHello()).isTrue();

        RawLink third = link();
        LinkFrame bye = third.next();
        assertThat(bye.getGoodbye().getReason()).isEqualTo(GoodbyeReason.GOODBYE_REASON_TOO_MANY_CONNECTIONS);
        assertThat(bye.getGoodbye().getDetail()).contains("maximum of 2 links");
        assertThat(bye.getGoodbye().getRetryAfter().getSeconds()).isPositive();
        assertThat(third.closedWith().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        // three links opened from 127.0.0.1 used the burst; the fourth is over the rate
        RawLink fourth = link();
        assertThat(fourth.next().getGoodbye().getDetail()).contains("too many links opened from 127.0.0.1");
        assertThat(fourth.closedWith().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }

    @Test
    void aSilentLinkIsClosedAfterThreeKeepaliveIntervalsAndAnIdleOneAfterTheIdleTimeout() throws Exception {
        start("links.keepalive-interval=200ms", "links.idle-timeout=1500ms");
        RawLink silent = link();
        RawLink chatty = link();
        // the chatty one sends keep-alives (so it is alive) but no message: idle after 1.5 s
        LinkFrame idleBye = null;
        for (int i = 0; i < 50 && idleBye == null; i++) {
            chatty.frame(LinkFrame.newBuilder().setKeepalive(Keepalive.newBuilder().setSeqNo(i)));
            Thread.sleep(100);
            for (LinkFrame f = chatty.poll(); f != null && idleBye == null; f = chatty.poll()) {
                if (f.hasGoodbye()) {
                    idleBye = f;
                }
            }
        }
        // the silent one answered nothing: closed as dead after 3 × 200 ms, long before
        assertThat(silent.next().hasHello()).isTrue();
        assertThat(silent.next().getGoodbye().getDetail()).isEqualTo("no keep-alive");
        assertThat(idleBye).as("closed as idle within 5 s").isNotNull();
        assertThat(idleBye.getGoodbye().getDetail()).startsWith("idle for");
    }

    @Test
    void redialsOfAnUnreachableAddressBackOff() throws IOException {
        start("links.backoff-min=10s");
        api = ManagedChannelBuilder.forAddress("127.0.0.1", cell.getBean(GrpcServerLifecycle.class).getPort())
                .usePlaintext().build();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        var stub = NetworkServiceGrpc.newBlockingStub(api).withDeadlineAfter(20, TimeUnit.SECONDS);
        ConnectPeerRequest request = ConnectPeerRequest.newBuilder().setAddress("127.0.0.1:" + closedPort).build();

        assertThatThrownBy(() -> stub.connectPeer(request)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("cannot link to 127.0.0.1:" + closedPort);
        });
        assertThatThrownBy(() -> stub.connectPeer(request)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("backing off").contains("after 1 failed dials");
        });
        assertThatThrownBy(() -> stub.connectPeer(ConnectPeerRequest.newBuilder().setAddress("no port").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
}
