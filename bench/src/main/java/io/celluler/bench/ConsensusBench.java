package io.celluler.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.cli.cell.LocalNetwork;
import io.celluler.consensus.chain.Transactions;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionResponse;
import io.celluler.proto.consensus.v1.SubmitTransactionsRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionsResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Issue 4's benchmark: 4 validators (network-service + consensus-service of 4 cells, in this JVM, on loopback,
 * sharing the machine's cores with the load generator) and an open-loop load of transactions with a 256-byte
 * payload, sent round-robin to the validators with {@code wait_for_commit}. The latency of each is from the moment
 * it was due (not when it was sent: no coordinated omission) to the commit answer. A rate the network cannot take
 * shows as latency growing and committed/s below the offered rate.
 *
 * <p>Transactions go on one {@code SubmitTransactions} stream per validator (answers by sequence); {@code --unary}
 * sends one {@code SubmitTransaction} call each instead.
 *
 * <p>{@code --signed}: every transaction carries a client Ed25519 signature (made before the run, by 64 client keys),
 * verified once where it enters; the single-core verification rate of this machine is printed alongside.
 */
@Command(name = "consensus", mixinStandardHelpOptions = true,
        description = "4 validators, open-loop 256-byte transactions: committed tx/s and P50/P99 submit-to-final.")
public class ConsensusBench implements Callable<Integer> {

    @Option(names = "--rates", split = ",", defaultValue = "1000,2000,4000", description = "offered tx/s, one run each")
    List<Integer> rates;

    @Option(names = "--seconds", defaultValue = "20")
    int seconds;

    @Option(names = "--warmup-seconds", defaultValue = "5")
    int warmupSeconds;

    @Option(names = "--jit-warmup-seconds", defaultValue = "60", description = "load before the first rate, until the JIT"
            + " compilers have settled (the four cells' code is large: C2 keeps a core busy for the first minute)")
    int jitWarmupSeconds;

    @Option(names = "--jit-warmup-rate", defaultValue = "2000", description = "offered tx/s during --jit-warmup-seconds")
    int jitWarmupRate;

    @Option(names = "--payload", defaultValue = "256")
    int payloadBytes;

    @Option(names = "--signed", description = "every transaction signed by its client")
    boolean signed;

    @Option(names = "--unary", description = "one SubmitTransaction call per transaction instead of a stream per validator")
    boolean unary;

    @Option(names = "--cell", defaultValue = "30", description = "index of the first cell (4 in a row)")
    int first;

    @Option(names = "--set", description = "extra key=value for every service (e.g. celluler.consensus.max-block-txs=500)")
    List<String> settings = new ArrayList<>();

    static final int VALIDATORS = 4;

    @Override
    public Integer call() throws Exception {
        if (signed) {
            System.out.println(verifyRate());
        }
        Path dir = Files.createTempDirectory("celluler-consensus-bench");
        Path genesis = LocalNetwork.genesis(dir, VALIDATORS);
        List<Cell> cells = new ArrayList<>();
        List<ManagedChannel> channels = new ArrayList<>();
        try {
            for (int k = 0; k < VALIDATORS; k++) {
                List<String> args = new ArrayList<>(List.of("--celluler.consensus.genesis-file=" + genesis,
                        "--logging.level.root=WARN"));
                if (k > 0) {
                    args.add("--celluler.network.seeds=127.0.0.1:" + (Cell.P2P_PORT + CellService.offset(first)));
                }
                settings.forEach(s -> args.add("--" + s));
                cells.add(Cell.start(Cell.Options.defaults(dir.resolve("cell-" + k)).withCellIndex(first + k)
                        .withServices(List.of("network-service", "consensus-service")).withExtraArgs(args)));
                channels.add(ManagedChannelBuilder.forAddress("127.0.0.1", 9102 + CellService.offset(first + k))
                        .usePlaintext().build());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!committing(channels)) {
                if (System.nanoTime() > deadline) {
                    System.err.println("the validators did not start committing within 120 s");
                    return 1;
                }
                Thread.sleep(200);
            }
            List<ConsensusServiceGrpc.ConsensusServiceStub> stubs = channels.stream().map(ConsensusServiceGrpc::newStub).toList();
            long needed = 0;
            for (int rate : rates) {
                needed += (long) rate * (warmupSeconds + seconds);
            }
            needed += (long) jitWarmupRate * jitWarmupSeconds;
            java.util.Iterator<Transaction> presigned = signed ? presign((int) needed).iterator() : null;
            long nonce = 0;
            if (jitWarmupSeconds > 0) {
                long jit0 = jitMillis();
                run(stubs, jitWarmupRate, jitWarmupSeconds, null, presigned, nonce);
                nonce += (long) jitWarmupRate * jitWarmupSeconds + 1_000_000;
                System.out.printf("WARMUP %d s at %d/s: JIT compilers used %.1f s of CPU%n", jitWarmupSeconds, jitWarmupRate,
                        (jitMillis() - jit0) / 1e3);
            }
            for (int rate : rates) {
                run(stubs, rate, warmupSeconds, null, presigned, nonce);
                nonce += (long) rate * warmupSeconds + 1_000_000;
                Latencies lat = new Latencies(rate * seconds + 1);
                var before = status(channels.get(0));
                long cpuBefore = processCpuNanos();
                long jitBefore = jitMillis();
                long gcBefore = gcMillis();
                long[] committed = run(stubs, rate, seconds, lat, presigned, nonce);
                double cpuCores = (processCpuNanos() - cpuBefore) / (double) Math.max(1, committed[3]);
                double jitCores = (jitMillis() - jitBefore) * 1e6 / Math.max(1, committed[3]);
                double gcCores = (gcMillis() - gcBefore) * 1e6 / Math.max(1, committed[3]);
                var after = status(channels.get(0));
                long blocks = after.getCommittedHeight() - before.getCommittedHeight();
                long rounds = after.getView() - before.getView();
                nonce += (long) rate * seconds + 1_000_000;
                // committed/s over the span from the first due transaction to the last commit answer: a rate the
                // validators cannot keep up with shows as committed/s below offered (the backlog drains after the
                // offering stops)
                double span = Math.max(seconds, committed[2] / 1e9);
                System.out.printf("CONSENSUS validators=%d payload=%dB signed=%s submit=%s offered=%d/s committed/s=%.0f failed=%d"
                        + " blocks/s=%.1f rounds/s=%.1f tx/block=%.0f cpu=%.2f-cores(jit %.2f gc %.2f) %s%n", VALIDATORS, payloadBytes,
                        signed, unary ? "unary" : "stream", rate, committed[0] / span, committed[1], blocks / span,
                        rounds / span, committed[0] / (double) Math.max(1, blocks), cpuCores, jitCores, gcCores,
                        lat.summary(seconds));
            }
            return 0;
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            cells.forEach(Cell::close);
        }
    }

    private static io.celluler.proto.consensus.v1.GetStatusResponse status(ManagedChannel c) {
        return ConsensusServiceGrpc.newBlockingStub(c).withDeadlineAfter(5, TimeUnit.SECONDS)
                .getStatus(GetStatusRequest.getDefaultInstance());
    }

    /**
     * CPU time of the garbage collectors' threads so far (Linux: their /proc counters). Where /proc is not there,
     * the collectors' own count, which is wall time of pauses and cycles and reads high on a busy machine.
     */
    private static long gcMillis() {
        long fromProc = JvmThreadsCpu.millis("GC Thread", "G1 ");
        if (fromProc >= 0) {
            return fromProc;
        }
        long sum = 0;
        for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            sum += Math.max(0, gc.getCollectionTime());
        }
        return sum;
    }

    /**
     * CPU time of the JIT compiler threads so far (Linux: their /proc counters). The JVM's own figure
     * ({@code CompilationMXBean}) is the wall time of compilations: when the compilers wait for a core, as they do on
     * two cores shared with eight services, it counts the waiting too (it read "1.00 core" while the C2 thread used ~0.2).
     */
    private static long jitMillis() {
        long fromProc = JvmThreadsCpu.millis("C1 CompilerThre", "C2 CompilerThre");
        return fromProc >= 0 ? fromProc : java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
    }

    /** CPU time of this process (validators, network-services and load generator together). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static boolean committing(List<ManagedChannel> channels) {
        try {
            for (ManagedChannel c : channels) {
                if (ConsensusServiceGrpc.newBlockingStub(c).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight() < 2) {
                    return false;
                }
            }
            return true;
        } catch (RuntimeException notYet) {
            return false;
        }
    }

    /**
     * Offers {@code rate} tx/s for {@code secs} seconds (a tick every millisecond sends what is due), then waits up
     * to 30 s for the answers. Returns {committed, failed, nanoseconds from the start to the last commit answer, nanoseconds the run took}.
     */
    private long[] run(List<ConsensusServiceGrpc.ConsensusServiceStub> stubs, int rate, int secs, Latencies lat,
            java.util.Iterator<Transaction> presigned, long nonceBase) throws InterruptedException {
        AtomicLong committed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong lastAnswer = new AtomicLong();
        AtomicInteger outstanding = new AtomicInteger();
        long total = (long) rate * secs;
        long start = System.nanoTime();
        long[] samples = new long[1024];
        int[] n = {0};
        byte[] payload = new byte[payloadBytes];
        new SecureRandom().nextBytes(payload);
        ByteString body = ByteString.copyFrom(payload);
        long[] dueAt = new long[(int) total];
        // what to do with an answer (any thread)
        java.util.function.LongConsumer onCommitted = i -> {
            committed.incrementAndGet();
            lastAnswer.accumulateAndGet(System.nanoTime(), Math::max);
            if (lat != null) {
                synchronized (samples) {
                    samples[n[0]++] = System.nanoTime() - dueAt[(int) i];
                    if (n[0] == samples.length) {
                        lat.add(samples, n[0], n[0]);
                        n[0] = 0;
                    }
                }
            }
        };
        List<StreamObserver<SubmitTransactionsRequest>> streams = new ArrayList<>();
        if (!unary) {
            for (ConsensusServiceGrpc.ConsensusServiceStub stub : stubs) {
                streams.add(stub.withDeadlineAfter(secs + 60L, TimeUnit.SECONDS).submitTransactions(new StreamObserver<>() {
                    @Override
                    public void onNext(SubmitTransactionsResponse r) {
                        if (r.hasResult()) {
                            onCommitted.accept(r.getSequence());
                        } else {
                            failed.incrementAndGet();
                        }
                        outstanding.decrementAndGet();
                    }

                    @Override
                    public void onError(Throwable e) {
                        System.err.println("submit stream failed: " + e);
                    }

                    @Override
                    public void onCompleted() {
                    }
                }));
            }
        }
        for (long i = 0; i < total; i++) {
            long due = start + i * 1_000_000_000L / rate;
            dueAt[(int) i] = due;
            long wait = due - System.nanoTime();
            if (wait > 200_000) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            Transaction t = presigned != null ? presigned.next() : Transaction.newBuilder()
                    .setPayloadType("celluler.bench.v1.Payload").setPayload(body).setNonce(nonceBase + i).build();
            outstanding.incrementAndGet();
            if (!unary) {
                // one stream per validator, round-robin; a stream is not thread-safe, and only this thread sends
                streams.get((int) (i % streams.size())).onNext(SubmitTransactionsRequest.newBuilder().setSequence(i)
                        .setTransaction(t).setWaitForCommit(true).build());
                continue;
            }
            long index = i;
            stubs.get((int) (i % stubs.size())).withDeadlineAfter(30, TimeUnit.SECONDS).submitTransaction(
                    SubmitTransactionRequest.newBuilder().setTransaction(t).setWaitForCommit(true).build(),
                    new StreamObserver<>() {
                        @Override
                        public void onNext(SubmitTransactionResponse r) {
                            onCommitted.accept(index);
                        }

                        @Override
                        public void onError(Throwable e) {
                            failed.incrementAndGet();
                            outstanding.decrementAndGet();
                        }

                        @Override
                        public void onCompleted() {
                            outstanding.decrementAndGet();
                        }
                    });
        }
        streams.forEach(StreamObserver::onCompleted);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (outstanding.get() > 0 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        if (lat != null) {
            synchronized (samples) {
                lat.add(samples, n[0], n[0]);
            }
        }
        return new long[] {committed.get(), failed.get() + outstanding.get(), lastAnswer.get() - start, System.nanoTime() - start};
    }

    private List<Transaction> presign(int count) {
        SecureRandom random = new SecureRandom();
        List<byte[]> seeds = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            seeds.add(Ed25519.newPrivateSeed(random));
        }
        byte[] payload = new byte[payloadBytes];
        random.nextBytes(payload);
        List<Transaction> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] seed = seeds.get(i % seeds.size());
            out.add(Transactions.sign(Transaction.newBuilder().setPayloadType("celluler.bench.v1.Payload")
                    .setPayload(ByteString.copyFrom(payload)).setNonce(i).build(), Ed25519.signingKey(seed),
                    Ed25519.publicKey(seed)));
        }
        return out;
    }

    /** Ed25519 verifications per second on one core of this machine (BouncyCastle, a 300-byte message). */
    static String verifyRate() {
        byte[] seed = Ed25519.newPrivateSeed(new SecureRandom());
        byte[] key = Ed25519.publicKey(seed);
        byte[] msg = new byte[300];
        byte[] sig = Ed25519.sign(Ed25519.signingKey(seed), msg);
        for (int i = 0; i < 2000; i++) {
            Ed25519.verify(key, msg, sig);
        }
        long t0 = System.nanoTime();
        int n = 0;
        while (System.nanoTime() - t0 < 3_000_000_000L) {
            Ed25519.verify(key, msg, sig);
            n++;
        }
        return String.format("ED25519 verify one core: %.0f/s (%.1f us each)", n / ((System.nanoTime() - t0) / 1e9),
                (System.nanoTime() - t0) / 1e3 / n);
    }
}
