package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.core.identity.CellIdentity;
import io.celluler.network.p2p.RawLink;
import io.celluler.proto.network.v1.BroadcastRequest;
import io.celluler.proto.network.v1.GetCellInfoRequest;
import io.celluler.proto.network.v1.GetStatsRequest;
import io.celluler.proto.network.v1.ListPeersRequest;
import io.celluler.proto.network.v1.MemberState;
import io.celluler.proto.network.v1.NetworkServiceGrpc;
import io.celluler.proto.network.v1.PeerInfo;
import io.celluler.proto.network.v1.ReceivedMessage;
import io.celluler.proto.network.v1.SendRequest;
import io.celluler.proto.network.v1.SendResponse;
import io.celluler.proto.p2p.v1.CellMessage;
import io.celluler.proto.p2p.v1.LinkFrame;
import io.celluler.proto.p2p.v1.RejectReason;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3 "done when", real processes: {@code celluler up --cells 5} (network-services only, to stay light on a
 * 2-core machine) starts five cell processes on loopback. All five see each other; a broadcast reaches every
 * other cell exactly once; cells 0 and 3 are told never to link, and a message from 0 to 3 is relayed; forged,
 * replayed, stale, oversized and malformed envelopes from a rogue cell are rejected and counted without harm;
 * a cell process killed with SIGKILL is declared dead by the others. Figures are printed.
 */
class CellNetworkIT {

    static final int FIRST = 40;
    static final int CELLS = 5;

    @TempDir
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();

    static int p2p(int k) {
        return Cell.P2P_PORT + CellService.offset(FIRST + k);
    }

    NetworkServiceGrpc.NetworkServiceBlockingStub api(int k) {
        return NetworkServiceGrpc.newBlockingStub(channels.get(k)).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(java.time.Duration.ofSeconds(seconds))
                .pollInterval(java.time.Duration.ofMillis(100)).until(condition::getAsBoolean);
    }

    List<PeerInfo> peers(int k, MemberState state) {
        return api(k).listPeers(ListPeersRequest.newBuilder().setMemberState(state).build()).getPeersList();
    }

    @Test
    void fiveCellProcessesFormANetwork() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m",
                "-jar", jar.toString(), "up", "--cells", String.valueOf(CELLS), "--cell", String.valueOf(FIRST),
                "--services", "network-service", "--data-dir", dataDir.toString(),
                "--cell-set", "0:celluler.network.denied-peers=127.0.0.1:" + p2p(3),
                "--cell-set", "3:celluler.network.denied-peers=127.0.0.1:" + p2p(0));
        Process network = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String output = UpOutput.untilUp(network);
            assertThat(output).contains("Network of 5 cells up");
            long upAt = System.nanoTime();
            // "  k  pid  gateway  p2p  id" for each cell
            Pattern row = Pattern.compile("^\\s+(\\d)\\s+(\\d+)\\s+\\S+\\s+127\\.0\\.0\\.1:(\\d+)\\s+([0-9a-f]{64})$", Pattern.MULTILINE);
            Matcher m = row.matcher(output);
            List<Long> pids = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            while (m.find()) {
                assertThat(Integer.parseInt(m.group(3))).isEqualTo(p2p(Integer.parseInt(m.group(1))));
                pids.add(Long.parseLong(m.group(2)));
                ids.add(m.group(4));
            }
            assertThat(ids).hasSize(CELLS).doesNotHaveDuplicates();
            for (int k = 0; k < CELLS; k++) {
                channels.add(ManagedChannelBuilder.forAddress("127.0.0.1",
                        9101 + CellService.offset(FIRST + k)).usePlaintext().build());
                assertThat(api(k).getCellInfo(GetCellInfoRequest.getDefaultInstance()).getCellId()).isEqualTo(ids.get(k));
            }

            // everybody sees everybody
            await("all five cells see four alive peers", 30, () -> {
                for (int k = 0; k < CELLS; k++) {
                    if (peers(k, MemberState.MEMBER_STATE_ALIVE).size() != CELLS - 1) {
                        return false;
                    }
                }
                return true;
            });
            System.out.printf("NETWORK converged %.1f s after the last cell was up%n", (System.nanoTime() - upAt) / 1e9);
            // capabilities travel with membership: these cells run only their network-service
            assertThat(peers(0, MemberState.MEMBER_STATE_ALIVE)).allSatisfy(p -> assertThat(p.getCapabilitiesList())
                    .extracting(c -> c.getService()).containsExactly("network-service"));

            // a broadcast, exactly once everywhere else
            List<BlockingQueue<ReceivedMessage>> inboxes = new ArrayList<>();
            for (int k = 0; k < CELLS; k++) {
                inboxes.add(subscribe(k, "test.all"));
            }
            Thread.sleep(500);
            api(2).broadcast(BroadcastRequest.newBuilder().setTopic("test.all").setPayload(ByteString.copyFromUtf8("news")).build());
            for (int k = 0; k < CELLS; k++) {
                if (k != 2) {
                    ReceivedMessage got = inboxes.get(k).poll(10, TimeUnit.SECONDS);
                    assertThat(got).as("cell " + k).isNotNull();
                    assertThat(got.getSourceCellId()).isEqualTo(ids.get(2));
                }
            }
            Thread.sleep(1000);
            for (int k = 0; k < CELLS; k++) {
                assertThat(inboxes.get(k)).as("cell " + k + " got it only once").isEmpty();
            }

            // 0 and 3 never link: relayed
            BlockingQueue<ReceivedMessage> atThree = subscribe(3, "test.relay");
            Thread.sleep(300);
            SendResponse relayed = api(0).send(SendRequest.newBuilder().setDestinationCellId(ids.get(3)).setTopic("test.relay")
                    .setPayload(ByteString.copyFromUtf8("via a friend")).setWaitForAck(true).build());
            assertThat(relayed.getAcknowledged()).isTrue();
            assertThat(relayed.getHops()).isEqualTo(1);
            ReceivedMessage arrived = atThree.poll(10, TimeUnit.SECONDS);
            assertThat(arrived.getPayload().toStringUtf8()).isEqualTo("via a friend");
            assertThat(arrived.getHops()).isEqualTo(1);

            // a rogue cell: every bad envelope rejected by reason and counted, the cell carries on
            roguePeerIsRejected(ids.get(1), p2p(1));
            assertThat(peers(1, MemberState.MEMBER_STATE_ALIVE)).hasSize(CELLS - 1);

            // kill -9 one cell: the others declare it dead
            ProcessHandle victim = ProcessHandle.of(pids.get(4)).orElseThrow();
            long killedAt = System.nanoTime();
            victim.destroyForcibly();
            await("the other four see cell 4 dead", 60, () -> {
                for (int k = 0; k < 4; k++) {
                    if (peers(k, MemberState.MEMBER_STATE_DEAD).stream().noneMatch(p -> p.getCellId().equals(ids.get(4)))) {
                        return false;
                    }
                }
                return true;
            });
            System.out.printf("NETWORK SIGKILLed cell declared dead by all others in %.1f s%n", (System.nanoTime() - killedAt) / 1e9);

            // Ctrl-C's path stops every cell process
            network.toHandle().destroy();
            assertThat(network.waitFor(90, TimeUnit.SECONDS)).isTrue();
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(p -> p.onExit().orTimeout(30, TimeUnit.SECONDS).join());
            }
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            network.descendants().forEach(ProcessHandle::destroyForcibly);
            network.destroyForcibly();
        }
    }

    private void roguePeerIsRejected(String cellId, int port) throws Exception {
        Map<String, Long> before = api(1).getStats(GetStatsRequest.getDefaultInstance()).getRejectedByReasonMap();
        CellIdentity rogue = RawLink.newCell();
        try (RawLink link = new RawLink(rogue, port, cellId)) {
            link.hello(rogue);
            assertThat(link.next().getHello().getCellId()).isEqualTo(cellId);
            CellMessage good = link.envelope(cellId, "test.rogue", Instant.now(), 10);
            link.frame(LinkFrame.newBuilder().setMessage(good));
            assertThat(link.next().getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_TOPIC);
            CellMessage[] bad = {
                    good.toBuilder().setPayload(ByteString.copyFromUtf8("forged")).build(),
                    // its nonce again, on another envelope
                    io.celluler.network.engine.Envelopes.seal(good.toBuilder().clearMessageId().clearSignature()
                            .setPayload(ByteString.copyFromUtf8("replay")), rogue),
                    link.envelope(cellId, "test.rogue", Instant.now().minus(Duration.ofMinutes(10)), 10),
                    link.envelope(cellId, "test.rogue", Instant.now(), 1_048_577),
                    link.envelope(cellId, "test.rogue", Instant.now(), 10).toBuilder().clearNonce().build()};
            RejectReason[] expected = {RejectReason.REJECT_REASON_BAD_SIGNATURE, RejectReason.REJECT_REASON_REPLAYED_NONCE,
                    RejectReason.REJECT_REASON_STALE_TIMESTAMP, RejectReason.REJECT_REASON_OVERSIZED,
                    RejectReason.REJECT_REASON_MALFORMED};
            for (int i = 0; i < bad.length; i++) {
                link.frame(LinkFrame.newBuilder().setMessage(bad[i]));
                assertThat(link.next().getAck().getRejectReason()).as("envelope " + i).isEqualTo(expected[i]);
            }
            // the very same envelope again: not delivered twice, answered as the first time, counted as a duplicate
            long dups = api(1).getStats(GetStatsRequest.getDefaultInstance()).getDuplicatesDropped();
            link.frame(LinkFrame.newBuilder().setMessage(good));
            assertThat(link.next().getAck().getRejectReason()).isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_TOPIC);
            assertThat(api(1).getStats(GetStatsRequest.getDefaultInstance()).getDuplicatesDropped()).isEqualTo(dups + 1);
        }
        Map<String, Long> after = api(1).getStats(GetStatsRequest.getDefaultInstance()).getRejectedByReasonMap();
        for (String reason : List.of("BAD_SIGNATURE", "REPLAYED_NONCE", "STALE_TIMESTAMP", "OVERSIZED", "MALFORMED")) {
            assertThat(after.getOrDefault(reason, 0L) - before.getOrDefault(reason, 0L)).as(reason).isEqualTo(1);
        }
    }

    private BlockingQueue<ReceivedMessage> subscribe(int k, String topic) {
        return io.celluler.network.grpc.TopicInbox.subscribe(channels.get(k), topic);
    }
}
