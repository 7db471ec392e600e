package io.celluler.network.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.google.protobuf.ByteString;
import io.celluler.core.boot.CellulerApplication;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.NetworkServiceApplication;
import io.celluler.proto.network.v1.BroadcastRequest;
import io.celluler.proto.network.v1.CallRequest;
import io.celluler.proto.network.v1.CallResponse;
import io.celluler.proto.network.v1.GetStatsRequest;
import io.celluler.proto.network.v1.LinkState;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.ListRoutesRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.PeerInfo;
import io.celluler.proto.network.v1.ReceivedMessage;
import io.celluler.proto.network.v1.SendRequest;
import io.celluler.proto.network.v1.SendResponse;
import io.celluler.proto.network.v1.ServeRequest;
import io.celluler.proto.network.v1.ServeResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * Issue 3 §4–§6 with four real network-services in this JVM, talking over mutual-TLS links on loopback: they find
 * each other through one seed, route direct and relayed messages (cells 0 and 3 refuse to link with each other),
 * flood broadcasts exactly once, answer calls through {@code Serve}, and refuse bad arguments by field.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetworkMeshIT {

    static final int CELLS = 4;

    @TempDir
    static Path dataDir;

    final List<ConfigurableApplicationContext> cells = new ArrayList<>();
    final List<ManagedChannel> channels = new ArrayList<>();
    final List<NetworkServiceGrpc.NetworkServiceBlockingStub> api = new ArrayList<>();
    final List<String> ids = new ArrayList<>();

    @BeforeAll
    void startCells() throws IOException {
        int[] p2p = new int[CELLS];
        for (int i = 0; i < CELLS; i++) {
            try (ServerSocket s = new ServerSocket(0)) {
                p2p[i] = s.getLocalPort();
            }
        }
        for (int i = 0; i < CELLS; i++) {
            List<String> args = new ArrayList<>(List.of("--celluler.data-dir=" + dataDir.resolve("cell-" + i),
                    "--server.port=0", "--server.address=127.0.0.1", "--spring.grpc.server.port=0",
                    "--spring.grpc.server.host=127.0.0.1", "--celluler.network.p2p-port=" + p2p[i]));
            if (i > 0) {
                // one seed each; cell 3 may not link with cell 0, so it joins through cell 1
                args.add("--celluler.network.seeds=127.0.0.1:" + p2p[i == 3 ? 1 : 0]);
            }
            // cells 0 and 3 never link: what goes between them is relayed
            if (i == 0) {
                args.add("--celluler.network.denied-peers=127.0.0.1:" + p2p[3]);
            } else if (i == 3) {
                args.add("--celluler.network.denied-peers=127.0.0.1:" + p2p[0]);
            }
            ConfigurableApplicationContext ctx = CellulerApplication
                    .builder(NetworkServiceApplication.class, NetworkServiceApplication.NAME)
                    .run(args.toArray(String[]::new));
            cells.add(ctx);
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", ctx.getBean(GrpcServerLifecycle.class).getPort())
                    .usePlaintext().build();
            channels.add(ch);
            api.add(NetworkServiceGrpc.newBlockingStub(ch));
            ids.add(ctx.getBean(CellIdentity.class).cellId());
        }
    }

    @AfterAll
    void stopCells() {
        channels.forEach(ManagedChannel::shutdownNow);
        cells.forEach(ConfigurableApplicationContext::close);
    }

    NetworkServiceGrpc.NetworkServiceBlockingStub api(int i) {
        return api.get(i).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(java.time.Duration.ofSeconds(seconds))
                .pollInterval(java.time.Duration.ofMillis(100)).until(condition::getAsBoolean);
    }

    List<PeerInfo> alive(int i) {
        return api(i).listPeers(ListPeersRequest.newBuilder().setMemberState(MemberState.MEMBER_STATE_ALIVE).build())
                .getPeersList();
    }

    /** Subscribes on a cell; messages land in the returned queue. */
    BlockingQueue<ReceivedMessage> subscribe(int cell, String topic) throws InterruptedException {
        BlockingQueue<ReceivedMessage> q = TopicInbox.subscribe(channels.get(cell), topic);
        // the subscription is registered when the call reaches the server
        Thread.sleep(300);
        return q;
    }

    @Test
    @Order(1)
    void everyCellLearnsEveryOtherThroughOneSeed() throws Exception {
        await("all four cells see three alive peers", 30, () -> {
            for (int i = 0; i < CELLS; i++) {
                if (alive(i).size() != CELLS - 1) {
                    return false;
                }
            }
            return true;
        });
        // capabilities travel with membership
        PeerInfo seen = alive(1).stream().filter(p -> p.getCellId().equals(ids.get(2))).findFirst().orElseThrow();
        assertThat(seen.getCapabilitiesList()).anyMatch(c -> c.getService().equals("cas-service"));
        assertThat(seen.getAddressesList()).hasSize(1);
        // 0 and 3 are members of each other's view but never linked
        await("routes settle", 15, () -> api(0).listRoutes(ListRoutesRequest.getDefaultInstance()).getRoutesList().stream()
                .anyMatch(r -> r.getDestinationCellId().equals(ids.get(3)) && r.getHops() == 2));
        PeerInfo threeFromZero = alive(0).stream().filter(p -> p.getCellId().equals(ids.get(3))).findFirst().orElseThrow();
        assertThat(threeFromZero.getLinkState()).isNotEqualTo(LinkState.LINK_STATE_CONNECTED);
    }

    @Test
    @Order(2)
    void aBroadcastReachesEveryOtherCellExactlyOnce() throws Exception {
        List<BlockingQueue<ReceivedMessage>> inboxes = new ArrayList<>();
        for (int i = 0; i < CELLS; i++) {
            inboxes.add(subscribe(i, "test.news"));
        }
        var sent = api(1).broadcast(BroadcastRequest.newBuilder().setTopic("test.news")
                .setPayload(ByteString.copyFromUtf8("hello all")).build());
        assertThat(sent.getFirstHopPeers()).isEqualTo(CELLS - 1);
        for (int i = 0; i < CELLS; i++) {
            if (i == 1) {
                continue;
            }
            ReceivedMessage m = inboxes.get(i).poll(10, TimeUnit.SECONDS);
            assertThat(m).as("cell " + i + " got the broadcast").isNotNull();
            assertThat(m.getPayload().toStringUtf8()).isEqualTo("hello all");
            assertThat(m.getBroadcast()).isTrue();
            assertThat(m.getSourceCellId()).isEqualTo(ids.get(1));
        }
        // every cell forwards it on; duplicates are dropped, not delivered
        Thread.sleep(1000);
        for (int i = 0; i < CELLS; i++) {
            assertThat(inboxes.get(i)).as("cell " + i + " has nothing more").isEmpty();
        }
        long dups = 0;
        for (int i = 0; i < CELLS; i++) {
            dups += api(i).getStats(GetStatsRequest.getDefaultInstance()).getDuplicatesDropped();
        }
        assertThat(dups).as("the flood's duplicates were seen and dropped").isPositive();
    }

    @Test
    @Order(3)
    void aMessageBetweenCellsThatRefuseToLinkIsRelayed() throws Exception {
        BlockingQueue<ReceivedMessage> direct = subscribe(2, "test.direct");
        BlockingQueue<ReceivedMessage> relayed = subscribe(3, "test.direct");

        SendResponse toTwo = api(0).send(SendRequest.newBuilder().setDestinationCellId(ids.get(2)).setTopic("test.direct")
                .setPayload(ByteString.copyFromUtf8("to two")).setWaitForAck(true).build());
        SendResponse toThree = api(0).send(SendRequest.newBuilder().setDestinationCellId(ids.get(3)).setTopic("test.direct")
                .setPayload(ByteString.copyFromUtf8("to three")).setWaitForAck(true).build());

        assertThat(toTwo.getAcknowledged()).isTrue();
        assertThat(toTwo.getHops()).isZero();
        assertThat(toThree.getAcknowledged()).isTrue();
        assertThat(toThree.getHops()).as("relays used").isEqualTo(1);
        ReceivedMessage atTwo = direct.poll(5, TimeUnit.SECONDS);
        ReceivedMessage atThree = relayed.poll(5, TimeUnit.SECONDS);
        assertThat(atTwo.getPayload().toStringUtf8()).isEqualTo("to two");
        assertThat(atTwo.getHops()).isZero();
        assertThat(atThree.getPayload().toStringUtf8()).isEqualTo("to three");
        assertThat(atThree.getHops()).isEqualTo(1);
        assertThat(atThree.getSourceCellId()).isEqualTo(ids.get(0));
        long relayedTotal = 0;
        for (int i = 1; i < 3; i++) {
            relayedTotal += api(i).getStats(GetStatsRequest.getDefaultInstance()).getMessagesRelayed();
        }
        assertThat(relayedTotal).isPositive();

        // the hop limit of a broadcast: with ttl 1 it reaches only cell 0's neighbours (1 and 2), not cell 3
        List<BlockingQueue<ReceivedMessage>> ttl = new ArrayList<>();
        for (int i = 1; i < CELLS; i++) {
            ttl.add(subscribe(i, "test.ttl"));
        }
        api(0).broadcast(BroadcastRequest.newBuilder().setTopic("test.ttl").setTtl(1).build());
        assertThat(ttl.get(0).poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(ttl.get(1).poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(ttl.get(2).poll(1, TimeUnit.SECONDS)).as("cell 3 is two hops away").isNull();
        api(0).broadcast(BroadcastRequest.newBuilder().setTopic("test.ttl").setTtl(2).build());
        assertThat(ttl.get(2).poll(5, TimeUnit.SECONDS)).as("with ttl 2 it arrives").isNotNull();

        // nobody subscribes to this topic on cell 2: the sender learns it
        assertThatThrownBy(() -> api(0).send(SendRequest.newBuilder().setDestinationCellId(ids.get(2))
                .setTopic("test.nobody").setWaitForAck(true).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    @Order(4)
    void callsReachTheServingHandlerDirectAndRelayed() throws Exception {
        // cell 3 serves "test.echo": it answers with the payload reversed
        StreamObserver<ServeRequest>[] replies = new StreamObserver[1];
        BlockingQueue<String> registered = new LinkedBlockingQueue<>();
        replies[0] = NetworkServiceGrpc.newStub(channels.get(3)).serve(new StreamObserver<>() {
            @Override
            public void onNext(ServeResponse r) {
                if (r.hasRegistered()) {
                    registered.add("ok");
                } else {
                    String reversed = new StringBuilder(r.getCall().getPayload().toStringUtf8()).reverse().toString();
                    synchronized (replies) {
                        replies[0].onNext(ServeRequest.newBuilder().setReply(ServeRequest.Reply.newBuilder()
                                .setCallId(r.getCall().getCallId()).setPayload(ByteString.copyFromUtf8(reversed))).build());
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        replies[0].onNext(ServeRequest.newBuilder().setRegister(ServeRequest.Register.newBuilder().addTopics("test.echo")).build());
        assertThat(registered.poll(5, TimeUnit.SECONDS)).isEqualTo("ok");

        CallResponse fromTwo = api(2).call(CallRequest.newBuilder().setDestinationCellId(ids.get(3)).setTopic("test.echo")
                .setPayload(ByteString.copyFromUtf8("abc")).build());
        CallResponse fromZero = api(0).call(CallRequest.newBuilder().setDestinationCellId(ids.get(3)).setTopic("test.echo")
                .setPayload(ByteString.copyFromUtf8("relayed")).build());

        assertThat(fromTwo.getPayload().toStringUtf8()).isEqualTo("cba");
        assertThat(fromTwo.getResponderCellId()).isEqualTo(ids.get(3));
        assertThat(fromZero.getPayload().toStringUtf8()).isEqualTo("deyaler");
        // no handler for the topic on the cell called
        assertThatThrownBy(() -> api(2).call(CallRequest.newBuilder().setDestinationCellId(ids.get(1))
                .setTopic("test.echo").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
        replies[0].onCompleted();
    }

    @Test
    @Order(5)
    void badArgumentsAreRefusedByField() {
        String cell = ids.get(1);
        record Bad(String field, Runnable call) {
        }
        List<Bad> bad = List.of(
                new Bad("destination_cell_id", () -> api(0).send(SendRequest.newBuilder().setDestinationCellId("xyz")
                        .setTopic("t").build())),
                new Bad("topic", () -> api(0).send(SendRequest.newBuilder().setDestinationCellId(cell)
                        .setTopic("Not A Topic").build())),
                new Bad("topic", () -> api(0).broadcast(BroadcastRequest.newBuilder().setTopic("p2p.membership").build())),
                new Bad("payload", () -> api(0).call(CallRequest.newBuilder().setDestinationCellId(cell).setTopic("t")
                        .setPayload(ByteString.copyFrom(new byte[1_048_577])).build())),
                new Bad("page_size", () -> api(0).listPeers(ListPeersRequest.newBuilder().setPageSize(-1).build())),
                new Bad("destination_cell_id", () -> api(0).send(SendRequest.newBuilder().setDestinationCellId(ids.get(0))
                        .setTopic("t").build())));
        for (Bad b : bad) {
            assertThatThrownBy(b.call()::run).as(b.field())
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains(b.field());
                    });
        }
        // ConnectPeer checks who is at the address: cell 1 dialled its seed, cell 0, so it knows who is there
        String zero = cells.get(0).getBean(io.celluler.network.p2p.P2pServer.class).listenAddress();
        String two = cells.get(2).getBean(io.celluler.network.p2p.P2pServer.class).listenAddress();
        assertThatThrownBy(() -> api(1).connectPeer(io.celluler.proto.network.v1.ConnectPeerRequest.newBuilder()
                .setAddress(zero).setExpectedCellId(ids.get(2)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("not the expected " + ids.get(2));
                });
        var connected = api(1).connectPeer(io.celluler.proto.network.v1.ConnectPeerRequest.newBuilder()
                .setAddress(two).setExpectedCellId(ids.get(2)).build());
        assertThat(connected.getAlreadyConnected()).isTrue();
        assertThat(connected.getPeer().getCellId()).isEqualTo(ids.get(2));

        // paging walks every peer once
        var first = api(0).listPeers(ListPeersRequest.newBuilder().setPageSize(2).build());
        var second = api(0).listPeers(ListPeersRequest.newBuilder().setPageSize(2).setPageToken(first.getNextPageToken()).build());
        assertThat(first.getPeersList()).hasSize(2);
        assertThat(second.getPeersList()).hasSize(1);
        assertThat(second.getNextPageToken()).isEmpty();
    }

    @Test
    @Order(6)
    void theCountersAreOnPrometheus() throws Exception {
        String http = cells.get(1).getEnvironment().getProperty("local.server.port");
        String metrics;
        try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
            metrics = client.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + http + "/actuator/prometheus")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        }
        assertThat(metrics)
                .contains("celluler_network_links_open")
                .contains("celluler_network_links_opened_total")
                .containsPattern("celluler_network_messages_total\\{direction=\"in\",.*topic=\"test.news\"")
                .containsPattern("celluler_network_bytes_total\\{direction=\"out\",.*topic=\"p2p.membership\"")
                .containsPattern("celluler_network_members\\{.*state=\"ALIVE\"} 4")
                .contains("celluler_network_link_rtt_seconds_bucket")
                .contains("celluler_network_messages_relayed_total")
                .contains("celluler_network_messages_duplicates_total");
        var stats = api(1).getStats(GetStatsRequest.getDefaultInstance());
        assertThat(stats.getConnectionsOpen()).isEqualTo(3);
        assertThat(stats.getMembersByStateMap()).containsEntry("ALIVE", 4);
        assertThat(stats.hasRttP99()).isTrue();
        assertThat(stats.getTopicsList()).anyMatch(t -> t.getTopic().equals("test.news") && t.getMessagesOut() > 0);
    }

    @Test
    @Order(7)
    void aCellThatLeavesIsSeenLeaving() throws Exception {
        cells.get(2).close();
        await("the others see cell 2 gone", 20, () -> {
            for (int i : new int[] {0, 1, 3}) {
                boolean gone = api(i).listPeers(ListPeersRequest.getDefaultInstance()).getPeersList().stream()
                        .anyMatch(p -> p.getCellId().equals(ids.get(2))
                                && (p.getMemberState() == MemberState.MEMBER_STATE_LEFT
                                || p.getMemberState() == MemberState.MEMBER_STATE_DEAD));
                if (!gone) {
                    return false;
                }
            }
            return true;
        });
    }
}
