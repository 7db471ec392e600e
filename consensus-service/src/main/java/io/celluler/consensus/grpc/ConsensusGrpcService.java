package io.celluler.consensus.grpc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import com.google.protobuf.Duration;
import io.celluler.consensus.chain.Transactions;
import io.celluler.consensus.chain.Wire;
import io.celluler.consensus.config.ConsensusProperties;
import io.celluler.consensus.engine.ConsensusEngine.Admission;
import io.celluler.core.hash.Merkle;
import io.celluler.consensus.engine.Tx;
import io.celluler.consensus.node.ConsensusNode;
import io.celluler.consensus.node.TxOutcomes;
import io.celluler.consensus.store.Ledger;
import io.celluler.consensus.store.TxIndex;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.consensus.v1.Block;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc.ConsensusServiceImplBase;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.GetBlockByHashRequest;
import io.celluler.proto.consensus.v1.GetBlockByHashResponse;
import io.celluler.proto.consensus.v1.GetBlockRequest;
import io.celluler.proto.consensus.v1.GetBlockResponse;
import io.celluler.proto.consensus.v1.GetFinalityProofRequest;
import io.celluler.proto.consensus.v1.GetFinalityProofResponse;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.GetStatusResponse;
import io.celluler.proto.consensus.v1.GetTransactionRequest;
import io.celluler.proto.consensus.v1.GetTransactionResponse;
import io.celluler.proto.consensus.v1.GetValidatorSetRequest;
import io.celluler.proto.consensus.v1.GetValidatorSetResponse;
import io.celluler.proto.consensus.v1.InclusionProof;
import io.celluler.proto.consensus.v1.ListBlocksRequest;
import io.celluler.proto.consensus.v1.ListBlocksResponse;
import io.celluler.proto.consensus.v1.StreamBlocksRequest;
import io.celluler.proto.consensus.v1.StreamBlocksResponse;
import io.celluler.proto.consensus.v1.SubmitTransactionRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionResponse;
import io.celluler.proto.consensus.v1.SubmitTransactionsRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionsResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.proto.consensus.v1.TransactionStatus;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.springframework.stereotype.Service;

/**
 * ConsensusService (celluler/consensus/v1/consensus.proto): transactions in, committed blocks and their finality
 * proofs out. Every request is checked before anything is written; a client mistake is INVALID_ARGUMENT naming the
 * field, never INTERNAL.
 */
@Service
public class ConsensusGrpcService extends ConsensusServiceImplBase {

    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;
    private static final long DEFAULT_WAIT_MILLIS = 30_000;

    private final ConsensusNode node;
    private final Ledger ledger;
    private final SenderLimits senderLimits;
    private final long maxValidityBlocks;

    public ConsensusGrpcService(ConsensusNode node, Ledger ledger, ConsensusProperties props) {
        this.node = node;
        this.ledger = ledger;
        this.senderLimits = new SenderLimits(props.senderRate(), props.senderBurst(), 100_000);
        this.maxValidityBlocks = props.maxValidityBlocks();
    }

    // ---- transactions ---------------------------------------------------------------------------------------

    @Override
    public void submitTransaction(SubmitTransactionRequest req, StreamObserver<SubmitTransactionResponse> out) {
        try {
            if (!req.hasTransaction()) {
                throw GrpcErrors.invalidArgument("transaction", "is required");
            }
            Deadline deadline = Context.current().getDeadline();
            long waitMillis = deadline == null ? DEFAULT_WAIT_MILLIS : Math.max(0, deadline.timeRemaining(TimeUnit.MILLISECONDS) - 20);
            submit(req.getTransaction(), req.getWaitForCommit(), waitMillis).whenComplete((r, err) -> {
                if (err == null) {
                    out.onNext(r);
                    out.onCompleted();
                } else {
                    out.onError(err);
                }
            });
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public StreamObserver<SubmitTransactionsRequest> submitTransactions(StreamObserver<SubmitTransactionsResponse> out) {
        ServerCallStreamObserver<SubmitTransactionsResponse> call = (ServerCallStreamObserver<SubmitTransactionsResponse>) out;
        Deadline deadline = Context.current().getDeadline();
        return new StreamObserver<>() {
            // requests not answered yet, plus one while the client may still send
            private final AtomicInteger open = new AtomicInteger(1);

            @Override
            public void onNext(SubmitTransactionsRequest req) {
                open.incrementAndGet();
                CompletableFuture<SubmitTransactionResponse> answer;
                try {
                    if (!req.hasTransaction()) {
                        throw GrpcErrors.invalidArgument("transaction", "is required");
                    }
                    long waitMillis = deadline == null ? DEFAULT_WAIT_MILLIS
                            : Math.min(DEFAULT_WAIT_MILLIS, Math.max(0, deadline.timeRemaining(TimeUnit.MILLISECONDS) - 20));
                    answer = submit(req.getTransaction(), req.getWaitForCommit(), waitMillis);
                } catch (StatusRuntimeException e) {
                    answer = CompletableFuture.failedFuture(e);
                }
                answer.whenComplete((r, err) -> {
                    SubmitTransactionsResponse.Builder a = SubmitTransactionsResponse.newBuilder().setSequence(req.getSequence());
                    if (err == null) {
                        a.setResult(r);
                    } else {
                        Status st = Status.fromThrowable(err);
                        a.setErrorCode(st.getCode().value()).setErrorMessage(st.getDescription() == null ? "" : st.getDescription());
                    }
                    send(a.build());
                    answered();
                });
            }

            @Override
            public void onError(Throwable t) {
                // the client cancelled: answers still due are dropped by send()
            }

            @Override
            public void onCompleted() {
                answered();
            }

            private void send(SubmitTransactionsResponse a) {
                synchronized (this) { // answers complete on many threads; a stream takes one at a time
                    if (!call.isCancelled()) {
                        out.onNext(a);
                    }
                }
            }

            private void answered() {
                if (open.decrementAndGet() == 0) {
                    synchronized (this) {
                        if (!call.isCancelled()) {
                            out.onCompleted();
                        }
                    }
                }
            }
        };
    }

    /**
     * Checks and submits one transaction: a StatusRuntimeException at once for what is wrong with it, else an answer
     * that completes once it is admitted (or, with {@code waitForCommit}, committed; exceptionally with
     * DEADLINE_EXCEEDED after {@code waitMillis}).
     */
    private CompletableFuture<SubmitTransactionResponse> submit(Transaction t, boolean waitForCommit, long waitMillis) {
        Tx tx;
        try {
            tx = Transactions.check(t);
        } catch (Transactions.InvalidTransactionException e) {
            throw GrpcErrors.invalidArgument(e.field(), e.getMessage());
        }
        ready();
        long head = node.head().height();
        if (t.getValidUntilHeight() != 0 && t.getValidUntilHeight() <= head) {
            throw GrpcErrors.invalidArgument("transaction.valid_until_height",
                    "is " + t.getValidUntilHeight() + " but height " + head + " is already committed");
        }
        if (t.getValidUntilHeight() > head + maxValidityBlocks) {
            throw GrpcErrors.invalidArgument("transaction.valid_until_height",
                    "may be at most " + maxValidityBlocks + " blocks above the head (" + head + ")");
        }
        if (!Transactions.signatureValid(t)) {
            throw GrpcErrors.invalidArgument("transaction.signature", "does not verify with transaction.sender_public_key");
        }
        if (ledger.isCommitted(tx.id())) {
            throw Status.ALREADY_EXISTS.withDescription("transaction " + tx.id() + " is already committed").asRuntimeException();
        }
        if (!t.getSignature().isEmpty() && !senderLimits.tryAcquire(t.getSenderPublicKey())) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the sender's rate of signed transactions is exhausted; retry later")
                    .asRuntimeException();
        }
        CompletableFuture<Long> waiter = waitForCommit ? new CompletableFuture<>() : null;
        SubmitTransactionResponse.Builder r = SubmitTransactionResponse.newBuilder().setTxId(tx.id())
                .setStatus(TransactionStatus.TRANSACTION_STATUS_PENDING);
        return node.submit(tx, waiter).thenCompose(a -> {
            switch (a) {
                case ADMITTED, KNOWN -> {
                    if (a == Admission.KNOWN && waiter == null) {
                        throw Status.ALREADY_EXISTS.withDescription("transaction " + tx.id() + " is already pending").asRuntimeException();
                    }
                }
                case POOL_FULL -> throw Status.RESOURCE_EXHAUSTED.withDescription("the transaction pool is full; retry later")
                        .asRuntimeException();
                case TOO_LARGE -> throw GrpcErrors.invalidArgument("transaction", "is larger than a block may hold");
                case EXPIRED -> throw GrpcErrors.invalidArgument("transaction.valid_until_height", "has passed");
            }
            if (waiter == null) {
                return CompletableFuture.completedFuture(r.build());
            }
            return waiter.orTimeout(waitMillis, TimeUnit.MILLISECONDS).handle((height, err) -> {
                if (err == null) {
                    return r.setStatus(TransactionStatus.TRANSACTION_STATUS_COMMITTED).setHeight(height).build();
                }
                node.forgetWaiter(tx.id(), waiter);
                if (err instanceof java.util.concurrent.TimeoutException) {
                    throw Status.DEADLINE_EXCEEDED.withDescription("transaction " + tx.id()
                            + " was not committed within the deadline; it stays in the pool").asRuntimeException();
                }
                throw Status.ABORTED.withDescription("transaction " + tx.id() + ": " + err.getMessage()).asRuntimeException();
            });
        }).exceptionallyCompose(err -> CompletableFuture.failedFuture(
                err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err));
    }

    @Override
    public void getTransaction(GetTransactionRequest req, StreamObserver<GetTransactionResponse> out) {
        try {
            String id = hex("tx_id", req.getTxId());
            ready();
            GetTransactionResponse.Builder r = GetTransactionResponse.newBuilder().setTxId(id);
            Optional<TxIndex.Location> at = ledger.locate(id);
            if (at.isPresent()) {
                Ledger.Stored s = ledger.byHeight(at.get().height()).orElseThrow();
                r.setStatus(TransactionStatus.TRANSACTION_STATUS_COMMITTED).setHeight(s.block().height())
                        .setBlockHash(s.block().id()).setInclusionProof(inclusion(s, at.get().position()))
                        .setCertificate(s.finality().getCertificate());
                if (req.getIncludeTransaction()) {
                    r.setTransaction(Transactions.parse(s.block().txs().get(at.get().position()).data()));
                }
            } else if (node.pending(id).join()) {
                r.setStatus(TransactionStatus.TRANSACTION_STATUS_PENDING);
            } else {
                TxOutcomes.Outcome o = node.outcome(id);
                if (o == null) {
                    throw Status.NOT_FOUND.withDescription("transaction " + id + " is neither pending nor committed here")
                            .asRuntimeException();
                }
                r.setStatus(TransactionStatus.TRANSACTION_STATUS_EXPIRED).setReason(o.reason());
            }
            out.onNext(r.build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    // ---- blocks ---------------------------------------------------------------------------------------------

    @Override
    public void getBlock(GetBlockRequest req, StreamObserver<GetBlockResponse> out) {
        try {
            long h = height("height", req.getHeight());
            out.onNext(GetBlockResponse.newBuilder().setBlock(toApi(committed(h), req.getHeadersOnly())).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void getBlockByHash(GetBlockByHashRequest req, StreamObserver<GetBlockByHashResponse> out) {
        try {
            String hash = hex("block_hash", req.getBlockHash());
            ready();
            Ledger.Stored s = ledger.byHash(hash).orElseThrow(() -> Status.NOT_FOUND
                    .withDescription("no committed block has hash " + hash).asRuntimeException());
            out.onNext(GetBlockByHashResponse.newBuilder().setBlock(toApi(s, req.getHeadersOnly())).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void listBlocks(ListBlocksRequest req, StreamObserver<ListBlocksResponse> out) {
        try {
            if (req.getPageSize() < 0) {
                throw GrpcErrors.invalidArgument("page_size", "must not be negative");
            }
            int size = req.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(req.getPageSize(), MAX_PAGE);
            ready();
            long head = node.head().height();
            long start;
            if (req.getPageToken().isEmpty()) {
                start = req.getAscending() ? 1 : head;
            } else {
                start = pageToken(req.getPageToken(), req.getAscending());
            }
            List<Ledger.Stored> page = req.getAscending() ? ledger.from(start, size) : ledger.downFrom(start, size);
            ListBlocksResponse.Builder r = ListBlocksResponse.newBuilder();
            page.forEach(s -> r.addHeaders(s.finality().getHeader()));
            if (page.size() == size) {
                long next = req.getAscending() ? page.get(page.size() - 1).block().height() + 1
                        : page.get(page.size() - 1).block().height() - 1;
                if (next >= 1) {
                    r.setNextPageToken(token(next, req.getAscending()));
                }
            }
            out.onNext(r.build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void streamBlocks(StreamBlocksRequest req, StreamObserver<StreamBlocksResponse> out) {
        try {
            if (req.getFromHeight() < 1) {
                throw GrpcErrors.invalidArgument("from_height", "must be at least 1 (height 0 is the genesis, which has no block)");
            }
            ready();
            ServerCallStreamObserver<StreamBlocksResponse> call = (ServerCallStreamObserver<StreamBlocksResponse>) out;
            ReentrantLock lock = new ReentrantLock();
            Condition changed = lock.newCondition();
            Runnable wake = () -> {
                lock.lock();
                try {
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            };
            call.setOnReadyHandler(wake);
            call.setOnCancelHandler(wake);
            node.onNewHead(wake);
            Thread.ofVirtual().name("consensus-stream").start(() -> {
                long next = req.getFromHeight();
                try {
                    while (!call.isCancelled()) {
                        List<Ledger.Stored> batch = next <= node.head().height() ? ledger.from(next, 64) : List.of();
                        for (Ledger.Stored s : batch) {
                            awaitReady(call, lock, changed);
                            if (call.isCancelled()) {
                                return;
                            }
                            out.onNext(StreamBlocksResponse.newBuilder().setBlock(toApi(s, req.getHeadersOnly())).build());
                            next = s.block().height() + 1;
                        }
                        if (batch.isEmpty()) {
                            lock.lock();
                            try {
                                if (next > node.head().height() && !call.isCancelled()) {
                                    changed.await(1, TimeUnit.SECONDS);
                                }
                            } finally {
                                lock.unlock();
                            }
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    if (!call.isCancelled()) {
                        out.onError(Status.UNAVAILABLE.withDescription("block stream ended: " + e.getMessage()).asRuntimeException());
                    }
                } finally {
                    node.removeHeadListener(wake);
                }
            });
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    private static void awaitReady(ServerCallStreamObserver<?> call, ReentrantLock lock, Condition changed)
            throws InterruptedException {
        lock.lock();
        try {
            while (!call.isReady() && !call.isCancelled()) {
                changed.await(1, TimeUnit.SECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- proofs, validators, status -------------------------------------------------------------------------

    @Override
    public void getFinalityProof(GetFinalityProofRequest req, StreamObserver<GetFinalityProofResponse> out) {
        try {
            long h = height("height", req.getHeight());
            String txId = req.getTxId().isEmpty() ? null : hex("tx_id", req.getTxId());
            Ledger.Stored s = committed(h);
            FinalityProof.Builder p = s.finality().toBuilder().setValidatorSet(node.validatorSet());
            if (txId != null) {
                int position = -1;
                for (int i = 0; i < s.block().txs().size(); i++) {
                    if (s.block().txs().get(i).id().equals(txId)) {
                        position = i;
                        break;
                    }
                }
                if (position < 0) {
                    throw Status.NOT_FOUND.withDescription("transaction " + txId + " is not in block " + h).asRuntimeException();
                }
                p.setInclusionProof(inclusion(s, position));
            }
            out.onNext(GetFinalityProofResponse.newBuilder().setProof(p).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void getValidatorSet(GetValidatorSetRequest req, StreamObserver<GetValidatorSetResponse> out) {
        try {
            ready();
            if (req.getHeight() > node.head().height()) {
                throw Status.NOT_FOUND.withDescription("height " + req.getHeight() + " is above the committed head "
                        + node.head().height()).asRuntimeException();
            }
            out.onNext(GetValidatorSetResponse.newBuilder().setValidatorSet(node.validatorSet()).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public void getStatus(GetStatusRequest req, StreamObserver<GetStatusResponse> out) {
        try {
            ready();
            ConsensusNode.Status st = node.status();
            ConsensusNode.Head head = node.head();
            out.onNext(GetStatusResponse.newBuilder().setChainId(node.validators().chainId()).setCellId(node.self())
                    .setValidator(node.validators().contains(node.self())).setCommittedHeight(head.height())
                    .setCommittedBlockHash(head.blockHash()).setCommittedAt(Wire.millis(head.committedAt().toEpochMilli()))
                    .setView(st.view()).setLeaderCellId(st.leader())
                    .setViewTimeout(Duration.newBuilder().setSeconds(st.viewTimeoutMillis() / 1000)
                            .setNanos((int) (st.viewTimeoutMillis() % 1000) * 1_000_000))
                    .setPoolSize(st.poolSize()).setSyncing(st.networkHeight() > head.height() + 1)
                    .setNetworkHeight(Math.max(st.networkHeight(), head.height())).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private void ready() {
        String why = node.notReady();
        if (why != null) {
            throw Status.UNAVAILABLE.withDescription(why).asRuntimeException();
        }
    }

    private Ledger.Stored committed(long height) {
        ready();
        return ledger.byHeight(height).orElseThrow(() -> Status.NOT_FOUND.withDescription("height " + height
                + " is not committed (the head is " + node.head().height() + ")").asRuntimeException());
    }

    private static long height(String field, long h) {
        if (h < 1) {
            throw GrpcErrors.invalidArgument(field, "must be at least 1 (height 0 is the genesis, which has no block)");
        }
        return h;
    }

    private static String hex(String field, String value) {
        if (!Sha256.isCanonicalHex(value)) {
            throw GrpcErrors.invalidArgument(field, "must be 64 lowercase hex characters");
        }
        return value;
    }

    private static InclusionProof inclusion(Ledger.Stored s, int position) {
        List<String> ids = new ArrayList<>(s.block().txs().size());
        s.block().txs().forEach(tx -> ids.add(tx.id()));
        return InclusionProof.newBuilder().setTxId(ids.get(position)).setLeafIndex(position).setLeafCount(ids.size())
                .addAllSiblingHashes(Merkle.proof(ids, position)).setRoot(s.block().txRoot()).build();
    }

    private static Block toApi(Ledger.Stored s, boolean headersOnly) {
        Block.Builder b = Block.newBuilder().setHeader(s.finality().getHeader()).setCertificate(s.finality().getCertificate())
                .addAllCommitChain(s.finality().getCommitChainList());
        for (Tx tx : s.block().txs()) {
            b.addTxIds(tx.id());
            if (!headersOnly) {
                b.addTransactions(Transactions.parse(tx.data()));
            }
        }
        return b.build();
    }

    private static String token(long height, boolean ascending) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(((ascending ? "a" : "d") + height).getBytes(StandardCharsets.US_ASCII));
    }

    private static long pageToken(String token, boolean ascending) {
        try {
            String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII);
            if (s.isEmpty() || s.charAt(0) != (ascending ? 'a' : 'd')) {
                throw new IllegalArgumentException();
            }
            long h = Long.parseLong(s.substring(1));
            if (h < 1) {
                throw new IllegalArgumentException();
            }
            return h;
        } catch (IllegalArgumentException e) {
            throw GrpcErrors.invalidArgument("page_token", "is not a token from a previous ListBlocks call with the same ascending");
        }
    }
}
