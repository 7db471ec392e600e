package io.celluler.state.node;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.celluler.core.hash.Sha256;
import io.celluler.proto.consensus.v1.Block;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.StreamBlocksRequest;
import io.celluler.proto.consensus.v1.StreamBlocksResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.state.config.StateProperties;
import io.celluler.state.engine.SparseMerkleTree;
import io.celluler.state.engine.StateMachine;
import io.celluler.state.store.StateStore;
import io.celluler.state.store.StateStore.AppliedHeight;
import io.celluler.state.store.StateStore.HeightRow;
import io.celluler.state.store.TreeStore;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The one owner of this cell's {@link StateMachine}. One applier thread follows consensus-service's committed blocks
 * ({@code StreamBlocks} from the height after the last applied one: resumable), applies each in order and commits
 * what a group of them did in one database transaction before anyone sees the new heights (group commit while
 * catching up). A block that does not follow the last applied one (height, parent hash) or does not carry its
 * transactions is refused and alarmed, never applied. A failed commit loads the state again from the database, so
 * memory never runs ahead of what is durable; a restart — after a crash too — resumes at the right height.
 */
public class StateNode implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(StateNode.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);

    /**
     * A way to catch up other than replaying every block (a snapshot), tried on the applier thread before each
     * stream: answers the head to follow on from ({@code head} itself when it did nothing).
     */
    public interface CatchUp {
        Head catchUp(Head head, long committedHeight);
    }

    /** The last applied height (0 and the empty root before any). */
    public record Head(long height, byte[] root, String blockHash) {
    }

    private final StateProperties props;
    private final StateStore store;
    private final TreeStore trees;
    private final SparseMerkleTree tree;
    /** For reads at committed roots; reads never touch the applier's machine. */
    private final StateMachine reader;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final Counter blocks;
    private final Counter failedTxs;
    private final Counter refused;
    private final Timer commits;
    private final ManagedChannel consensus;
    private volatile Head head = new Head(0, SparseMerkleTree.emptyRoot(), "");
    private volatile String feedError;
    private volatile long committedHeight;
    private volatile long committedAskedAt = System.nanoTime() - 2_000_000_000L;
    private volatile boolean catchingUp;
    /** The last block from consensus-service was refused; cleared once a block is applied. */
    private volatile boolean refusing;
    private volatile boolean running;
    private volatile Thread applier;
    private volatile CatchUp catchUp;

    public StateNode(StateProperties props, StateStore store, TreeStore trees, MeterRegistry meters) {
        this.props = props;
        this.store = store;
        this.trees = trees;
        this.tree = new SparseMerkleTree(trees);
        this.reader = new StateMachine(tree, trees, 0, SparseMerkleTree.emptyRoot());
        this.blocks = Counter.builder("celluler.state.blocks.applied").register(meters);
        this.failedTxs = Counter.builder("celluler.state.transactions.failed")
                .description("state transactions that failed and changed nothing").register(meters);
        this.refused = Counter.builder("celluler.state.blocks.refused")
                .description("blocks refused because they do not follow the last applied one").register(meters);
        this.commits = Timer.builder("celluler.state.commit").description("one group commit of applied heights")
                .register(meters);
        Gauge.builder("celluler.state.applied.height", () -> head.height()).register(meters);
        this.feedError = props.following() ? "not started" : "celluler.state.consensus-address is not set";
        this.consensus = props.following()
                ? ManagedChannelBuilder.forTarget(props.consensusAddress()).usePlaintext()
                        .maxInboundMessageSize(64 << 20).build()
                : null;
    }

    public Head head() {
        return head;
    }

    public StateStore store() {
        return store;
    }

    /** The value of a key in the state of {@code root} (a committed height's), null when absent. */
    public byte[] value(byte[] root, String namespace, String key) {
        return reader.value(root, namespace, key);
    }

    public byte[] valueByHash(byte[] hash) {
        return trees.value(hash);
    }

    public io.celluler.core.smt.SparseMerkle.Proof prove(byte[] root, String namespace, String key) {
        return reader.prove(root, namespace, key);
    }

    /** Why blocks are not being applied now, null while they are. */
    public String feedError() {
        return feedError;
    }

    public boolean catchingUp() {
        return catchingUp;
    }

    /** consensus-service's committed height: asked (briefly) at most once a second, else the last one seen. */
    public long committedHeight() {
        long now = System.nanoTime();
        if (consensus != null && now - committedAskedAt > 1_000_000_000L) {
            committedAskedAt = now;
            try {
                long h = ConsensusServiceGrpc.newBlockingStub(consensus).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight();
                committedHeight = Math.max(committedHeight, h);
            } catch (StatusRuntimeException unreachable) {
                // the last one seen
            }
        }
        return committedHeight;
    }

    /** Sets the way to catch up from far behind (before {@link #start}). */
    public void catchUpWith(CatchUp c) {
        this.catchUp = c;
    }

    /** Runs {@code listener} after each commit of new heights (it must not block); answers how to unregister. */
    public Runnable listen(Runnable listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    // ---------------------------------------------------------------------------------------------------------
    // the applier

    private void runApplier() {
        Duration backoff = FIRST_BACKOFF;
        while (running) {
            try {
                followOnce();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                feedError = describe(e);
                log.warn("state: following consensus-service stopped ({}); again in {} ms", feedError,
                        backoff.toMillis());
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException stop) {
                    return;
                }
                backoff = backoff.multipliedBy(2).compareTo(props.retryBackoffMax()) > 0 ? props.retryBackoffMax()
                        : backoff.multipliedBy(2);
                continue;
            }
            backoff = FIRST_BACKOFF;
        }
    }

    /** One stream from consensus-service: blocks from the height after the head, applied until the stream fails. */
    private void followOnce() throws InterruptedException {
        trees.discard(); // whatever an earlier failure left uncommitted
        Head stored = loadHead();
        committedHeight = Math.max(committedHeight, ConsensusServiceGrpc.newBlockingStub(consensus)
                .withDeadlineAfter(5, TimeUnit.SECONDS).getStatus(GetStatusRequest.getDefaultInstance())
                .getCommittedHeight());
        if (!refusing) {
            feedError = null; // consensus-service answers: following it (a refusal stays until a block applies)
        }
        CatchUp c = catchUp;
        if (c != null && running) {
            catchingUp = true;
            Head restored = c.catchUp(stored, committedHeight);
            catchingUp = false;
            if (restored != stored) {
                head = restored;
                listeners.forEach(Runnable::run);
            }
            stored = restored;
        }
        Head from = stored;
        StateMachine machine = new StateMachine(tree, trees, from.height(), from.root());
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(2 * props.maxBatchBlocks());
        Context.CancellableContext call = Context.current().withCancellation();
        Thread reader = Thread.ofPlatform().name("state-blocks").daemon(true).start(() -> call.run(() -> {
            try {
                Iterator<StreamBlocksResponse> it = ConsensusServiceGrpc.newBlockingStub(consensus)
                        .streamBlocks(StreamBlocksRequest.newBuilder().setFromHeight(from.height() + 1).build());
                while (it.hasNext()) {
                    queue.put(it.next().getBlock());
                }
                queue.put(new IllegalStateException("consensus-service ended the block stream"));
            } catch (RuntimeException e) {
                offerQuietly(queue, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            Head at = from;
            List<Object> batch = new ArrayList<>();
            while (running) {
                Object next = queue.poll(500, TimeUnit.MILLISECONDS);
                if (next == null) {
                    catchingUp = false;
                    continue;
                }
                batch.clear();
                batch.add(next);
                queue.drainTo(batch, props.maxBatchBlocks() - 1);
                at = applyAndCommit(machine, at, batch);
                catchingUp = !queue.isEmpty();
            }
        } finally {
            call.cancel(null);
            reader.interrupt();
        }
    }

    private static void offerQuietly(BlockingQueue<Object> queue, RuntimeException e) {
        queue.clear(); // the applier stops at the failure; what was queued before it is fetched again
        queue.offer(e);
    }

    /** Applies a group of received blocks and commits them together; a failure among them ends the stream. */
    private Head applyAndCommit(StateMachine machine, Head at, List<Object> batch) {
        List<AppliedHeight> applied = new ArrayList<>(batch.size());
        RuntimeException failure = null;
        Head last = at;
        for (Object o : batch) {
            if (o instanceof RuntimeException e) {
                failure = e;
                break;
            }
            Block b = (Block) o;
            String problem = follows(last, b);
            if (problem != null) {
                refused.increment();
                refusing = true;
                log.error("state: ALARM block refused: {}", problem);
                failure = new IllegalStateException("block refused: " + problem);
                break;
            }
            List<StateMachine.Tx> txs = new ArrayList<>(b.getTransactionsCount());
            for (int i = 0; i < b.getTransactionsCount(); i++) {
                Transaction t = b.getTransactions(i);
                txs.add(new StateMachine.Tx(b.getTxIds(i), t.getPayloadType(), t.getPayload().toByteArray()));
            }
            StateMachine.Applied a = machine.apply(b.getHeader().getHeight(), txs);
            int failed = (int) a.outcomes().stream().filter(x -> !x.applied()).count();
            applied.add(new AppliedHeight(new HeightRow(a.height(), a.root(), b.getHeader().getBlockHash(),
                    a.outcomes().size(), failed, Instant.now()), a));
            last = new Head(a.height(), a.root(), b.getHeader().getBlockHash());
            committedHeight = Math.max(committedHeight, a.height());
        }
        if (!applied.isEmpty()) {
            try {
                commits.record(() -> store.commit(applied, trees.pending()));
            } catch (RuntimeException e) {
                trees.discard();
                throw e;
            }
            trees.committed();
            head = last;
            refusing = false;
            blocks.increment(applied.size());
            applied.forEach(h -> failedTxs.increment(h.row().failedTxCount()));
            listeners.forEach(Runnable::run);
        }
        if (failure != null) {
            throw failure;
        }
        return last;
    }

    /** Why {@code b} cannot be the next block after {@code at}, or null. */
    private static String follows(Head at, Block b) {
        long h = b.getHeader().getHeight();
        if (h != at.height() + 1) {
            return "height " + h + " does not follow the applied height " + at.height();
        }
        if (!at.blockHash().isEmpty() && !b.getHeader().getParentHash().equals(at.blockHash())) {
            return "block " + h + " names parent " + b.getHeader().getParentHash() + ", but the block applied at "
                    + at.height() + " is " + at.blockHash();
        }
        if (b.getTransactionsCount() != b.getTxIdsCount()) {
            return "block " + h + " carries " + b.getTransactionsCount() + " transactions for "
                    + b.getTxIdsCount() + " ids";
        }
        return null;
    }

    private Head loadHead() {
        HeightRow r = store.latest();
        Head h = r == null ? new Head(0, SparseMerkleTree.emptyRoot(), "") : new Head(r.height(), r.root(), r.blockHash());
        head = h;
        return h;
    }

    private static String describe(RuntimeException e) {
        if (e instanceof StatusRuntimeException s) {
            return "consensus-service: " + s.getStatus().getCode()
                    + (s.getStatus().getDescription() == null ? "" : " " + s.getStatus().getDescription());
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    // ---------------------------------------------------------------------------------------------------------
    // lifecycle

    @Override
    public void start() {
        running = true;
        Head h = loadHead();
        log.info("state: applied height {} root {}", h.height(), Sha256.hex(h.root()));
        if (consensus != null) {
            applier = Thread.ofPlatform().name("state-applier").daemon(true).start(this::runApplier);
        }
    }

    @Override
    public void stop() {
        running = false;
        Thread t = applier;
        if (t != null) {
            t.interrupt();
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (consensus != null) {
            consensus.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
