package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.CellService;
import io.celluler.core.smt.StateProofs;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.SubmitTransactionRequest;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.proto.state.v1.CompareRootsRequest;
import io.celluler.proto.state.v1.CompareRootsResponse;
import io.celluler.proto.state.v1.GetStateRootRequest;
import io.celluler.proto.state.v1.GetStatusResponse;
import io.celluler.proto.state.v1.PeerRoot;
import io.celluler.proto.state.v1.GetStatusRequest;
import io.celluler.proto.state.v1.GetValueRequest;
import io.celluler.proto.state.v1.GetValueResponse;
import io.celluler.proto.state.v1.StateServiceGrpc;
import io.celluler.proto.state.v1.StateTransaction;
import io.celluler.proto.state.v1.StateTransaction.Mutation;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8 "done when", real processes on loopback: four cells ({@code celluler up --cells 4}: network-, consensus-
 * and state-service each) apply the same committed blocks and have equal state roots at every height; a proof from
 * one cell verifies against another cell's root. A fifth state-service in a process of its own (as a per-service
 * deployment runs it) follows cell 0's consensus-service; it is killed with SIGKILL while blocks are being applied,
 * restarted, and resumes: every height it had reported applied is still there with the same root, and it reaches the
 * others with the same roots at every height. The cells compare roots and agree. A cell that lost its state-service's
 * data catches up from another cell's snapshot instead of replaying. A cell whose stored root was altered is found
 * diverged, and the alarm is raised.
 */
class StateNetworkIT {

    static final int FIRST = 35;
    static final int CELLS = 4;
    /** The stand-alone state-service's cell index (its ports). */
    static final int ALONE = FIRST + CELLS;
    static final CellService CONSENSUS = service("consensus-service");
    static final CellService STATE = service("state-service");
    static final String SERVICES = "network-service,consensus-service,state-service";
    static final int SNAPSHOT_EVERY = 50;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();
    final List<Process> processes = new ArrayList<>();

    static CellService service(String name) {
        return CellService.ALL.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(condition::getAsBoolean);
    }

    ManagedChannel channel(int port) {
        ManagedChannel c = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        channels.add(c);
        return c;
    }

    static StateServiceGrpc.StateServiceBlockingStub state(ManagedChannel c) {
        return StateServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static long applied(ManagedChannel c) {
        return state(c).getStatus(GetStatusRequest.getDefaultInstance()).getAppliedHeight();
    }

    static String root(ManagedChannel c, long height) {
        return state(c).getStateRoot(GetStateRootRequest.newBuilder().setHeight(height).build()).getStateRoot().getRoot();
    }

    long restartedPid;

    static void killCell(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        await("cell process " + pid + " gone", 30, () -> !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Starts cell 3 again on its data (joining through cell 0, the network's genesis), with more settings. */
    void restartCell3(Path cell3, String... sets) throws java.io.IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx384m", "-jar", "target/celluler-cli-exec.jar", "up",
                "--cell", String.valueOf(FIRST + 3), "--data-dir", cell3.toString(), "--services", SERVICES, "--seeds",
                "127.0.0.1:" + (io.celluler.cli.cell.Cell.P2P_PORT + CellService.offset(FIRST)), "--set",
                "celluler.consensus.genesis-file=" + dataDir.resolve("net/genesis.json").toAbsolutePath(), "--set",
                "celluler.state.compare-interval=1s", "--set", "celluler.state.snapshot-interval-heights=" + SNAPSHOT_EVERY));
        for (String s : sets) {
            cmd.addAll(List.of("--set", s));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(cell3.resolve("restart.log").toFile())).start();
        processes.add(p);
        restartedPid = p.pid();
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    Process startAlone(Path jar, Path dir) throws Exception {
        List<String> cmd = List.of(java(), "-Xmx384m", "-jar", jar.toString(), "up", "--cell", String.valueOf(ALONE),
                "--services", "state-service", "--data-dir", dir.toString(), "--set",
                "celluler.state.consensus-address=127.0.0.1:" + CONSENSUS.grpcPort(FIRST));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        assertThat(UpOutput.untilUp(p)).contains("Press Ctrl-C");
        return p;
    }

    /** A random state transaction: a put, a batch of puts and deletes, or a compare-and-set that may miss. */
    static Transaction randomTx(Random r, int n) {
        String ns = "ns" + r.nextInt(3);
        StateTransaction t = switch (r.nextInt(3)) {
            case 0 -> StateTransaction.newBuilder().setPutValue(Mutation.newBuilder().setNamespace(ns)
                    .setKey("k" + r.nextInt(200)).setValue(ByteString.copyFromUtf8("v" + n))).build();
            case 1 -> {
                StateTransaction.Batch.Builder b = StateTransaction.Batch.newBuilder();
                for (int i = 0; i < 5; i++) {
                    b.addMutations(Mutation.newBuilder().setNamespace(ns).setKey("k" + r.nextInt(200))
                            .setValue(ByteString.copyFromUtf8("b" + n + "." + i)).setDeleteKey(i == 4));
                }
                yield StateTransaction.newBuilder().setBatch(b).build();
            }
            default -> StateTransaction.newBuilder().setCompareAndSet(StateTransaction.CompareAndSet.newBuilder()
                    .setNamespace(ns).setKey("k" + r.nextInt(200)).setNewValue(ByteString.copyFromUtf8("c" + n)))
                    .build();
        };
        return Transaction.newBuilder().setPayloadType("celluler.state.v1.StateTransaction")
                .setPayload(t.toByteString()).setNonce(n).build();
    }

    @Test
    void fourCellsHaveEqualRootsAndAKilledStateServiceResumesLosingNothing() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        Process network = new ProcessBuilder(List.of(java(), "-Xmx384m", "-jar", jar.toString(), "up", "--cells",
                String.valueOf(CELLS), "--cell", String.valueOf(FIRST), "--services", SERVICES, "--data-dir",
                dataDir.resolve("net").toString(), "--set", "celluler.state.compare-interval=1s", "--set",
                "celluler.state.snapshot-interval-heights=" + SNAPSHOT_EVERY))
                .redirectErrorStream(true).start();
        processes.add(network);
        String output = UpOutput.untilUp(network);
        assertThat(output).contains("Network of 4 cells up");
        java.util.regex.Matcher rows = java.util.regex.Pattern.compile(
                "^\\s+(\\d)\\s+(\\d+)\\s+\\S+\\s+\\S+\\s+([0-9a-f]{64})$", java.util.regex.Pattern.MULTILINE)
                .matcher(output);
        List<Long> pids = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        while (rows.find()) {
            pids.add(Long.parseLong(rows.group(2)));
            ids.add(rows.group(3));
        }
        assertThat(ids).hasSize(CELLS);
        List<ManagedChannel> consensus = new ArrayList<>();
        List<ManagedChannel> states = new ArrayList<>();
        for (int k = 0; k < CELLS; k++) {
            consensus.add(channel(CONSENSUS.grpcPort(FIRST + k)));
            states.add(channel(STATE.grpcPort(FIRST + k)));
        }
        await("four validators committing", 120, () -> {
            for (ManagedChannel c : consensus) {
                if (ConsensusServiceGrpc.newBlockingStub(c).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .getStatus(io.celluler.proto.consensus.v1.GetStatusRequest.getDefaultInstance())
                        .getCommittedHeight() < 1) {
                    return false;
                }
            }
            return true;
        });

        // a state-service of cell 0's consensus in a process of its own
        Path aloneDir = dataDir.resolve("alone");
        Process alone = startAlone(jar, aloneDir);
        ManagedChannel aloneState = channel(STATE.grpcPort(ALONE));

        // transactions through every cell, from a background thread, while the lone state-service is killed
        int total = 240;
        AtomicInteger sent = new AtomicInteger();
        Thread submitter = Thread.ofPlatform().start(() -> {
            Random r = new Random(8);
            for (int n = 0; n < total; n++) {
                ConsensusServiceGrpc.newBlockingStub(consensus.get(n % CELLS)).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(randomTx(r, n)).build());
                sent.incrementAndGet();
            }
        });
        await("the lone state-service applying", 120, () -> applied(aloneState) >= 5 && sent.get() >= total / 3);
        long acknowledged = applied(aloneState);
        String acknowledgedRoot = root(aloneState, acknowledged);
        alone.destroyForcibly(); // SIGKILL, mid-stream
        assertThat(alone.waitFor(30, TimeUnit.SECONDS)).isTrue();
        System.out.printf("STATE lone state-service killed at applied height %d with %d of %d transactions sent%n",
                acknowledged, sent.get(), total);
        submitter.join(TimeUnit.MINUTES.toMillis(5));
        assertThat(sent.get()).isEqualTo(total);

        startAlone(jar, aloneDir);
        assertThat(root(aloneState, acknowledged)).as("acknowledged before the kill, kept").isEqualTo(acknowledgedRoot);

        // every cell reaches consensus' height; equal roots everywhere at every height
        long head = ConsensusServiceGrpc.newBlockingStub(consensus.get(0)).withDeadlineAfter(5, TimeUnit.SECONDS)
                .getStatus(io.celluler.proto.consensus.v1.GetStatusRequest.getDefaultInstance()).getCommittedHeight();
        List<ManagedChannel> all = new ArrayList<>(states);
        all.add(aloneState);
        await("every state-service at height " + head, 180, () -> all.stream().allMatch(c -> applied(c) >= head));
        for (long h = 1; h <= head; h++) {
            String expected = root(states.get(0), h);
            for (int k = 1; k < all.size(); k++) {
                assertThat(root(all.get(k), h)).as("root at height %d on state-service %d", h, k).isEqualTo(expected);
            }
        }
        java.util.regex.Matcher started = java.util.regex.Pattern.compile("state: applied height (\\d+) root")
                .matcher(Files.readString(aloneDir.resolve("logs/cell.log")));
        long resumedAt = -1;
        while (started.find()) {
            resumedAt = Long.parseLong(started.group(1)); // the last start's
        }
        assertThat(resumedAt).as("the restart resumed from what was committed, nothing acknowledged lost")
                .isGreaterThanOrEqualTo(acknowledged);
        System.out.printf("STATE the restarted state-service resumed at height %d%n", resumedAt);

        // a proof from cell 1 verifies against cell 3's root at that height
        GetValueResponse v = state(states.get(1)).getValue(GetValueRequest.newBuilder().setNamespace("ns0")
                .setKey("k1").setHeight(head).setIncludeProof(true).build());
        assertThat(v.getProof().getRoot()).isEqualTo(root(states.get(3), head));
        assertThat(StateProofs.verify(v.getProof(), "ns0", "k1")).isTrue();
        System.out.printf("STATE %d heights, equal roots on 4 cells and the restarted lone state-service%n", head);

        // the cells compare roots and agree
        CompareRootsResponse agree = state(states.get(0)).compareRoots(CompareRootsRequest.newBuilder().setHeight(head)
                .build());
        assertThat(agree.getPeersList()).extracting(PeerRoot::getCellId).containsExactlyInAnyOrderElementsOf(
                ids.subList(1, CELLS));
        assertThat(agree.getPeersList()).allSatisfy(p -> assertThat(p.getMatches()).as(p.toString()).isTrue());
        assertThat(agree.getDiverged()).isFalse();

        // cell 3 loses its state-service's data and starts again: far behind, it restores another cell's snapshot
        // (confirmed by the others' roots) instead of replaying from height 1
        Path cell3 = dataDir.resolve("net/cell-3");
        killCell(pids.get(3));
        deleteTree(cell3.resolve("state-service"));
        restartCell3(cell3, "celluler.state.snapshot-catch-up-blocks=20");
        await("cell 3 restored and at height " + head, 180, () -> applied(states.get(3)) >= head);
        java.util.regex.Matcher restore = java.util.regex.Pattern.compile("restored from cell \\S+ snapshot at height (\\d+)")
                .matcher(Files.readString(cell3.resolve("logs/cell.log")));
        assertThat(restore.find()).as("restored, not replayed").isTrue();
        long snapshotHeight = Long.parseLong(restore.group(1));
        assertThat(snapshotHeight % SNAPSHOT_EVERY).as("snapshots are taken at multiples of the interval").isZero();
        long upTo = Math.min(applied(states.get(3)), applied(states.get(0)));
        for (long h = snapshotHeight; h <= upTo; h++) {
            assertThat(root(states.get(3), h)).as("root at %d after the restore", h).isEqualTo(root(states.get(0), h));
        }
        assertThatCode(() -> root(states.get(3), snapshotHeight - 1)).as("heights before the snapshot are not replayed")
                .hasMessageContaining("NOT_FOUND");
        System.out.printf("STATE a cell that lost its state restored the snapshot at height %d and followed to %d%n",
                snapshotHeight, upTo);

        // cell 3's stored root at the head is altered (its process killed, its database changed, started again):
        // the comparison finds the divergence, and the periodic one raises it in cell 0's status
        long tamperAt = applied(states.get(3));
        killCell(restartedPid);
        try (java.sql.Connection db = java.sql.DriverManager.getConnection("jdbc:h2:file:"
                + cell3.resolve("state-service/db/state") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE", "sa", "");
                java.sql.PreparedStatement update = db.prepareStatement("UPDATE state_height SET root = ? WHERE height = ?")) {
            update.setBytes(1, new byte[32]);
            update.setLong(2, tamperAt);
            assertThat(update.executeUpdate()).isEqualTo(1);
        }
        restartCell3(cell3);
        await("cell 3 answering about height " + tamperAt, 180, () -> {
            PeerRoot p = state(states.get(0)).compareRoots(CompareRootsRequest.newBuilder().setHeight(tamperAt)
                    .addCellIds(ids.get(3)).build()).getPeers(0);
            return !p.getRoot().isEmpty();
        });
        CompareRootsResponse split = state(states.get(0)).compareRoots(CompareRootsRequest.newBuilder().setHeight(tamperAt)
                .build());
        assertThat(split.getDiverged()).isTrue();
        assertThat(split.getPeersList()).filteredOn(p -> !p.getMatches()).singleElement().satisfies(p -> {
            assertThat(p.getCellId()).isEqualTo(ids.get(3));
            assertThat(p.getRoot()).isEqualTo("00".repeat(32));
        });
        GetStatusResponse alarmed = state(states.get(0)).getStatus(GetStatusRequest.getDefaultInstance());
        assertThat(alarmed.getDiverged()).isTrue();
        assertThat(alarmed.getDivergedHeight()).isEqualTo(tamperAt);
        assertThat(Files.readString(dataDir.resolve("net/cell-0/logs/cell.log")))
                .contains("ALARM state root divergence at height " + tamperAt);
    }
}
