package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.consensus.chain.FinalityProofs;
import io.celluler.consensus.chain.Genesis;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.GetBlockRequest;
import io.celluler.proto.consensus.v1.GetFinalityProofRequest;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.GetStatusResponse;
import io.celluler.proto.consensus.v1.SubmitTransactionRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.proto.consensus.v1.TransactionStatus;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4 "done when", real processes on loopback: {@code celluler up --cells 4} (network-service and
 * consensus-service of each cell) forms a 4-validator chain out of the box. Transactions commit and every cell
 * commits the same blocks; a finality proof from one cell verifies with another cell's genesis and fails after one
 * changed byte; with one cell's process killed (SIGKILL) commits keep flowing; restarted after the others moved on
 * further than they keep blocks in memory, it catches up from their ledgers.
 */
class ConsensusNetworkIT {

    static final int FIRST = 45;
    static final int CELLS = 4;
    static final String SERVICES = "network-service,consensus-service";
    /** Few blocks kept in memory, so that the restarted validator needs the ledger-to-ledger catch-up. */
    static final int KEPT_BLOCKS = 8;
    static final List<String> CATCH_UP = List.of("celluler.consensus.kept-committed-blocks=" + KEPT_BLOCKS,
            "celluler.consensus.ledger-sync-threshold=4");

    @TempDir
    Path dataDir;

    final List<ManagedChannel> channels = new ArrayList<>();
    final List<Process> processes = new ArrayList<>();

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

    ConsensusServiceGrpc.ConsensusServiceBlockingStub api(int k) {
        return ConsensusServiceGrpc.newBlockingStub(channels.get(k)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static void await(String what, long seconds, BooleanSupplier condition) {
        org.awaitility.Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(condition::getAsBoolean);
    }

    static Transaction tx(String text) {
        return Transaction.newBuilder().setPayloadType("celluler.test.v1.Note")
                .setPayload(ByteString.copyFrom(text, StandardCharsets.UTF_8)).build();
    }

    GetStatusResponse status(int k) {
        return api(k).getStatus(GetStatusRequest.getDefaultInstance());
    }

    String hashAt(int k, long height) {
        return api(k).getBlock(GetBlockRequest.newBuilder().setHeight(height).setHeadersOnly(true).build()).getBlock()
                .getHeader().getBlockHash();
    }

    long submitAndWait(int k, String text) {
        SubmitTransactionResponse r = api(k).submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(tx(text))
                .setWaitForCommit(true).build());
        assertThat(r.getStatus()).isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
        return r.getHeight();
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void fourCellProcessesFormAValidatorNetwork() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx384m", "-jar", jar.toString(), "up", "--cells",
                String.valueOf(CELLS), "--cell", String.valueOf(FIRST), "--services", SERVICES, "--data-dir",
                dataDir.toString()));
        CATCH_UP.forEach(s -> cmd.addAll(List.of("--set", s)));
        Process network = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(network);
        String output = UpOutput.untilUp(network);
        assertThat(output).contains("Network of 4 cells up");
        Pattern row = Pattern.compile("^\\s+(\\d)\\s+(\\d+)\\s+\\S+\\s+\\S+\\s+([0-9a-f]{64})$", Pattern.MULTILINE);
        Matcher m = row.matcher(output);
        List<Long> pids = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        while (m.find()) {
            pids.add(Long.parseLong(m.group(2)));
            ids.add(m.group(3));
        }
        assertThat(ids).hasSize(CELLS);
        for (int k = 0; k < CELLS; k++) {
            channels.add(ManagedChannelBuilder.forAddress("127.0.0.1", 9102 + CellService.offset(FIRST + k)).usePlaintext().build());
        }

        // the generated genesis names the four cells, each a validator
        Genesis genesis = Genesis.read(dataDir.resolve("genesis.json"));
        assertThat(genesis.validators()).extracting(Genesis.GenesisValidator::cellId).containsExactlyInAnyOrderElementsOf(ids);
        long t0 = System.nanoTime();
        await("four validators committing", 120, () -> {
            for (int k = 0; k < CELLS; k++) {
                GetStatusResponse s = status(k);
                if (!s.getValidator() || s.getCommittedHeight() < 2 || !s.getChainId().equals(genesis.chainId())) {
                    return false;
                }
            }
            return true;
        });
        System.out.printf("CONSENSUS 4 validators committing %.1f s after the network was up%n", (System.nanoTime() - t0) / 1e9);

        // transactions through every cell commit; all cells hold the same blocks
        long top = 0;
        for (int i = 0; i < 12; i++) {
            top = Math.max(top, submitAndWait(i % CELLS, "tx " + i));
        }
        long h = top;
        await("every cell reaches height " + h, 60, () -> {
            for (int k = 0; k < CELLS; k++) {
                if (status(k).getCommittedHeight() < h) {
                    return false;
                }
            }
            return true;
        });
        for (long x = 1; x <= h; x++) {
            String expected = hashAt(0, x);
            for (int k = 1; k < CELLS; k++) {
                assertThat(hashAt(k, x)).as("height %d at cell %d", x, k).isEqualTo(expected);
            }
        }

        // a proof from cell 0 verifies against cell 2's genesis, and fails after one changed byte
        FinalityProof proof = api(0).getFinalityProof(GetFinalityProofRequest.newBuilder().setHeight(h).build()).getProof();
        String trusted = Genesis.read(dataDir.resolve("genesis.json")).validatorSetHash();
        assertThat(api(2).getValidatorSet(io.celluler.proto.consensus.v1.GetValidatorSetRequest.getDefaultInstance())
                .getValidatorSet().getValidatorSetHash()).isEqualTo(trusted);
        FinalityProofs.Verdict ok = FinalityProofs.verify(proof, trusted);
        assertThat(ok.ok()).as(ok.reason()).isTrue();
        assertThat(proof.getCertificate().getSignaturesCount()).isGreaterThanOrEqualTo(3);
        byte[] bytes = proof.toByteArray();
        bytes[bytes.length / 2] ^= 0x20;
        boolean rejected;
        try {
            rejected = !FinalityProofs.verify(FinalityProof.parseFrom(bytes), trusted).ok();
        } catch (com.google.protobuf.InvalidProtocolBufferException unreadable) {
            rejected = true;
        }
        assertThat(rejected).isTrue();

        // SIGKILL cell 3: the three others keep committing
        ProcessHandle.of(pids.get(3)).orElseThrow().destroyForcibly();
        await("cell 3 gone", 30, () -> !ProcessHandle.of(pids.get(3)).map(ProcessHandle::isAlive).orElse(false));
        long killedAt = System.nanoTime();
        long before = status(0).getCommittedHeight();
        long afterKill = 0;
        for (int i = 0; i < 6; i++) {
            afterKill = Math.max(afterKill, submitAndWait(i % 3, "after kill " + i));
        }
        assertThat(afterKill).isGreaterThan(before);
        System.out.printf("CONSENSUS with one of 4 validators killed: 6 transactions committed in %.1f s (heights %d..%d)%n",
                (System.nanoTime() - killedAt) / 1e9, before, afterKill);

        // the others run on until cell 3 is further behind than they keep blocks in memory: block sync alone could
        // not bring it back; it must catch up from their ledgers
        long farAhead = afterKill + 4L * KEPT_BLOCKS;
        await("the others reach height " + farAhead, 120, () -> status(0).getCommittedHeight() >= farAhead);

        // restart it: it catches up with the others
        Path cell3 = dataDir.resolve("cell-3");
        List<String> restart = new ArrayList<>(List.of(java(), "-Xmx384m", "-jar", jar.toString(), "up", "--cell",
                String.valueOf(FIRST + 3), "--data-dir", cell3.toString(), "--services", SERVICES, "--seeds",
                "127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(FIRST)) + ",127.0.0.1:"
                        + (Cell.P2P_PORT + CellService.offset(FIRST + 1)),
                "--set", "celluler.consensus.genesis-file=" + dataDir.resolve("genesis.json").toAbsolutePath()));
        CATCH_UP.forEach(s -> restart.addAll(List.of("--set", s)));
        Process restarted = new ProcessBuilder(restart)
                .redirectErrorStream(true).redirectOutput(cell3.resolve("restart.log").toFile()).start();
        processes.add(restarted);
        long restartedAt = System.nanoTime();
        long target = farAhead;
        await("restarted cell 3 catches up to " + target, 180, () -> status(3).getCommittedHeight() >= target);
        System.out.printf("CONSENSUS restarted validator caught up %d blocks to height %d %.1f s after its process started%n",
                target - afterKill, target, (System.nanoTime() - restartedAt) / 1e9);
        assertThat(Files.readString(cell3.resolve("logs/cell.log"))).as("it caught up from the others' ledgers")
                .contains("for its ledger");
        assertThat(hashAt(3, target)).isEqualTo(hashAt(0, target));
        assertThat(submitAndWait(3, "through the restarted cell")).isGreaterThan(target);
    }
}
