package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.proto.network.v1.CallRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.LinkState;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.SendRequest;
import io.celluler.proto.network.v1.ServeRequest;
import io.celluler.proto.network.v1.ServeResponse;
import io.celluler.proto.network.v1.SubscribeRequest;
import io.celluler.proto.network.v1.SubscribeResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Request/response between two cells through both network-services (issue 3): cell A's client calls
 * {@code NetworkService/Call} on A; A signs a REQUEST envelope and sends it over the mutual-TLS link to B; B
 * verifies it, acknowledges it and pushes it to a {@code Serve} stream (the echo handler here); the reply goes
 * back the same way as a signed RESPONSE. So one call is four gRPC hops, two signatures and two verifications.
 * Also one-way {@code Send} with {@code wait_for_ack} (delivered to a subscriber on B).
 *
 * <p>Both cells run in this JVM (network-service only), on loopback, sharing the machine's cores with the
 * client. Closed loop: {@code --concurrency} callers each, after a warm-up.
 */
@Command(name = "p2p", mixinStandardHelpOptions = true,
        description = "Call and Send between two cells' network-services: P50/P99 and calls/s at 1 and 100 callers.")
public class P2pBench implements Callable<Integer> {

    @Option(names = "--concurrency", split = ",", defaultValue = "1,100")
    List<Integer> concurrency;

    @Option(names = "--seconds", defaultValue = "10")
    int seconds;

    @Option(names = "--warmup-seconds", defaultValue = "5")
    int warmupSeconds;

    @Option(names = "--payload", defaultValue = "256", description = "bytes per request")
    int payloadBytes;

    @Option(names = "--cell", defaultValue = "32", description = "index of cell A (B is the next one)")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("celluler-p2p-bench");
        List<String> quiet = List.of("--logging.threshold.console=WARN");
        String seed = "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(cellIndex));
        try (Cell a = Cell.start(Cell.Options.defaults(dir.resolve("a")).withCellIndex(cellIndex)
                .withServices(List.of("network-service")).withExtraArgs(quiet));
             Cell b = Cell.start(Cell.Options.defaults(dir.resolve("b")).withCellIndex(cellIndex + 1)
                     .withServices(List.of("network-service"))
                     .withExtraArgs(List.of(quiet.get(0), "--celluler.network.seeds=" + seed)))) {
            ManagedChannel toA = channel(cellIndex);
            ManagedChannel toB = channel(cellIndex + 1);
            try {
                var apiA = NetworkServiceGrpc.newBlockingStub(toA);
                String idB = NetworkServiceGrpc.newBlockingStub(toB).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (apiA.listPeers(ListPeersRequest.newBuilder().setConnectedOnly(true).build()).getPeersList().stream()
                        .noneMatch(p -> p.getCellId().equals(idB) && p.getLinkState() == LinkState.LINK_STATE_CONNECTED)) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException("the two cells did not link within 30 s");
                    }
                    Thread.sleep(100);
                }
                StreamObserver<ServeRequest> server = serveEcho(toB);
                subscribeAndDrop(toB);
                ByteString payload = ByteString.copyFrom(new byte[payloadBytes]);
                CallRequest call = CallRequest.newBuilder().setDestinationCellId(idB).setTopic("bench.echo")
                        .setPayload(payload).build();
                SendRequest send = SendRequest.newBuilder().setDestinationCellId(idB).setTopic("bench.sink")
                        .setPayload(payload).setWaitForAck(true).build();
                for (int c : concurrency) {
                    report("call", c, ClosedLoop.measure(c, warmupSeconds, seconds, () -> NetworkServiceGrpc.newBlockingStub(toA)
                            .withDeadlineAfter(10, TimeUnit.SECONDS).call(call)));
                    report("send-ack", c, ClosedLoop.measure(c, warmupSeconds, seconds, () -> NetworkServiceGrpc.newBlockingStub(toA)
                            .withDeadlineAfter(10, TimeUnit.SECONDS).send(send)));
                }
                server.onCompleted();
            } finally {
                toA.shutdownNow();
                toB.shutdownNow();
            }
        }
        return 0;
    }

    private static ManagedChannel channel(int cell) {
        int port = CellService.ALL.get(0).grpcPort(cell);
        return ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    /** An echo handler for topic bench.echo on the cell behind {@code channel}. */
    private static StreamObserver<ServeRequest> serveEcho(ManagedChannel channel) throws InterruptedException {
        CountDownLatch registered = new CountDownLatch(1);
        @SuppressWarnings("unchecked")
        StreamObserver<ServeRequest>[] out = new StreamObserver[1];
        out[0] = NetworkServiceGrpc.newStub(channel).serve(new StreamObserver<>() {
            @Override
            public void onNext(ServeResponse r) {
                if (r.hasRegistered()) {
                    registered.countDown();
                    return;
                }
                out[0].onNext(ServeRequest.newBuilder().setReply(ServeRequest.Reply.newBuilder()
                        .setCallId(r.getCall().getCallId()).setPayload(r.getCall().getPayload())).build());
            }

            @Override
            public void onError(Throwable t) {
                System.err.println("serve stream ended: " + t);
            }

            @Override
            public void onCompleted() {
            }
        });
        out[0].onNext(ServeRequest.newBuilder().setRegister(ServeRequest.Register.newBuilder().addTopics("bench.echo")).build());
        if (!registered.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the echo handler did not register");
        }
        return out[0];
    }

    private static void subscribeAndDrop(ManagedChannel channel) throws InterruptedException {
        NetworkServiceGrpc.newStub(channel).subscribe(SubscribeRequest.newBuilder().setTopic("bench.sink").build(),
                new StreamObserver<SubscribeResponse>() {
                    @Override
                    public void onNext(SubscribeResponse value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        Thread.sleep(300);
    }

    private void report(String name, int callers, String figures) {
        System.out.printf("BENCH p2p %-9s concurrency=%d payload=%dB seconds=%d %s%n", name, callers, payloadBytes,
                seconds, figures);
    }
}
