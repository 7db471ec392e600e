package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.consensus.chain.FinalityProofs;
import io.celluler.consensus.chain.Transactions;
import io.celluler.core.identity.Ed25519;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.FinalityProof;
import io.celluler.proto.consensus.v1.GetBlockRequest;
import io.celluler.proto.consensus.v1.GetFinalityProofRequest;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.GetTransactionRequest;
import io.celluler.proto.consensus.v1.GetTransactionResponse;
import io.celluler.proto.consensus.v1.GetValidatorSetRequest;
import io.celluler.proto.consensus.v1.ListBlocksRequest;
import io.celluler.proto.consensus.v1.ListBlocksResponse;
import io.celluler.proto.consensus.v1.StreamBlocksRequest;
import io.celluler.proto.consensus.v1.StreamBlocksResponse;
import io.celluler.proto.consensus.v1.SubmitTransactionRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.celluler.proto.consensus.v1.TransactionStatus;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.celluler.proto.consensus.v1.SubmitTransactionsRequest;
import io.celluler.proto.consensus.v1.SubmitTransactionsResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One cell (network-service and consensus-service in one JVM, as {@code celluler up} runs them) is a one-validator
 * chain out of the box: transactions commit, each with an inclusion proof and a certificate; a finality proof
 * verifies offline against the genesis set and fails after one changed byte; bad input is refused naming the field
 * and writes nothing; a restart keeps the ledger and goes on from it.
 */
class ConsensusCellIT {

    static final int CELL = 22;

    @TempDir
    Path dataDir;

    Cell cell;
    ManagedChannel channel;

    /** More settings for the cell's services (ConsensusPostgresIT: the ledger in PostgreSQL). */
    protected List<String> extraArgs() {
        return List.of();
    }

    void start() {
        cell = Cell.start(Cell.Options.defaults(dataDir).withCellIndex(CELL)
                .withServices(List.of("network-service", "consensus-service")).withExtraArgs(extraArgs()));
        int port = CellService.ALL.stream().filter(s -> s.name().equals("consensus-service")).findFirst().orElseThrow()
                .grpcPort(CELL);
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (cell != null) {
            cell.close();
        }
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        stop();
    }

    ConsensusServiceGrpc.ConsensusServiceBlockingStub api() {
        return ConsensusServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static Transaction tx(String text) {
        return Transaction.newBuilder().setPayloadType("celluler.test.v1.Note")
                .setPayload(ByteString.copyFrom(text, StandardCharsets.UTF_8)).build();
    }

    void awaitUp() {
        org.awaitility.Awaitility.await("consensus-service ready").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> api().getStatus(GetStatusRequest.getDefaultInstance()).getValidator());
    }

    @Test
    void oneCellIsAOneValidatorChainWithVerifiableProofs() throws Exception {
        start();
        awaitUp();

        SubmitTransactionResponse done = api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("hello")).setWaitForCommit(true).build());
        assertThat(done.getStatus()).isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
        assertThat(done.getHeight()).isPositive();
        assertThat(done.getTxId()).isEqualTo(Transactions.idOf(tx("hello").toByteArray()));

        GetTransactionResponse t = api().getTransaction(GetTransactionRequest.newBuilder().setTxId(done.getTxId())
                .setIncludeTransaction(true).build());
        assertThat(t.getStatus()).isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
        assertThat(t.getHeight()).isEqualTo(done.getHeight());
        assertThat(t.getTransaction()).isEqualTo(tx("hello"));
        assertThat(t.getInclusionProof().getRoot()).isNotEmpty();

        // the finality proof checks out against the genesis set, and one changed byte anywhere breaks it
        String trusted = api().getValidatorSet(GetValidatorSetRequest.getDefaultInstance()).getValidatorSet()
                .getValidatorSetHash();
        FinalityProof proof = api().getFinalityProof(GetFinalityProofRequest.newBuilder().setHeight(done.getHeight())
                .setTxId(done.getTxId()).build()).getProof();
        assertThat(FinalityProofs.verify(proof, trusted).ok()).as(FinalityProofs.verify(proof, trusted).reason()).isTrue();
        byte[] bytes = proof.toByteArray();
        int changed = 0;
        for (int i = 0; i < bytes.length; i += 7) {
            byte[] copy = bytes.clone();
            copy[i] ^= 0x01;
            FinalityProof altered;
            try {
                altered = FinalityProof.parseFrom(copy);
            } catch (com.google.protobuf.InvalidProtocolBufferException unreadable) {
                continue; // a flipped length or tag: the bytes no longer parse, which also rejects them
            }
            if (!altered.equals(proof)) {
                assertThat(FinalityProofs.verify(altered, trusted).ok()).as("byte %d changed", i).isFalse();
                changed++;
            }
        }
        assertThat(changed).isGreaterThan(50);

        // blocks, pages and the stream from a height
        for (int i = 0; i < 5; i++) {
            api().submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(tx("more " + i)).setWaitForCommit(true).build());
        }
        long head = api().getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight();
        assertThat(head).isGreaterThanOrEqualTo(2);
        assertThat(api().getBlock(GetBlockRequest.newBuilder().setHeight(head).build()).getBlock().getHeader().getHeight())
                .isEqualTo(head);
        ListBlocksResponse page = api().listBlocks(ListBlocksRequest.newBuilder().setPageSize(1).build());
        assertThat(page.getHeadersList()).hasSize(1);
        assertThat(page.getHeaders(0).getHeight()).isGreaterThanOrEqualTo(head);
        ListBlocksResponse next = api().listBlocks(ListBlocksRequest.newBuilder().setPageSize(1)
                .setPageToken(page.getNextPageToken()).build());
        assertThat(next.getHeaders(0).getHeight()).isEqualTo(page.getHeaders(0).getHeight() - 1);
        assertThat(next.getHeaders(0).getBlockHash()).isEqualTo(page.getHeaders(0).getParentHash());
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            Iterator<StreamBlocksResponse> stream = ctx.call(() -> ConsensusServiceGrpc.newBlockingStub(channel)
                    .streamBlocks(StreamBlocksRequest.newBuilder().setFromHeight(1).setHeadersOnly(true).build()));
            String parent = null;
            for (long h = 1; h <= head; h++) {
                StreamBlocksResponse b = stream.next();
                assertThat(b.getBlock().getHeader().getHeight()).isEqualTo(h);
                if (parent != null) {
                    assertThat(b.getBlock().getHeader().getParentHash()).isEqualTo(parent);
                }
                parent = b.getBlock().getHeader().getBlockHash();
                assertThat(b.getBlock().getTransactionsList()).isEmpty();
            }
        }

        // many on one stream: each request answered by its sequence, a bad one with its error, the stream goes on
        List<SubmitTransactionsRequest> requests = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            requests.add(SubmitTransactionsRequest.newBuilder().setSequence(i).setTransaction(tx("streamed " + i))
                    .setWaitForCommit(true).build());
        }
        requests.add(SubmitTransactionsRequest.newBuilder().setSequence(50).setTransaction(tx("hello")).build());
        requests.add(SubmitTransactionsRequest.newBuilder().setSequence(51)
                .setTransaction(tx("x").toBuilder().setPayloadType("not a type")).build());
        requests.add(SubmitTransactionsRequest.newBuilder().setSequence(52).build());
        Map<Long, SubmitTransactionsResponse> answers = submitAll(requests);
        assertThat(answers).hasSize(requests.size());
        for (long i = 0; i < 50; i++) {
            assertThat(answers.get(i).getResult().getStatus()).as("sequence %d", i).isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
            assertThat(answers.get(i).getResult().getHeight()).isGreaterThan(head);
        }
        assertThat(answers.get(50L).getErrorCode()).isEqualTo(Status.Code.ALREADY_EXISTS.value());
        assertThat(answers.get(51L).getErrorCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(answers.get(51L).getErrorMessage()).contains("transaction.payload_type");
        assertThat(answers.get(52L).getErrorCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(answers.get(52L).getErrorMessage()).contains("transaction");
        assertThat(api().getTransaction(GetTransactionRequest.newBuilder().setTxId(answers.get(7L).getResult().getTxId())
                .build()).getHeight()).isEqualTo(answers.get(7L).getResult().getHeight());
        head = api().getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight();

        // a restart keeps the ledger and goes on from it
        stop();
        start();
        awaitUp();
        assertThat(api().getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight()).isGreaterThanOrEqualTo(head);
        assertThat(api().getTransaction(GetTransactionRequest.newBuilder().setTxId(done.getTxId()).build()).getStatus())
                .isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
        SubmitTransactionResponse after = api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("after restart")).setWaitForCommit(true).build());
        assertThat(after.getHeight()).isGreaterThan(head);
    }

    @Test
    void badInputIsRefusedNamingTheFieldAndNothingIsStored() throws Exception {
        start();
        awaitUp();
        long head = api().getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight();

        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.getDefaultInstance()), "transaction");
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("x").toBuilder().clearPayloadType()).build()), "transaction.payload_type");
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("x").toBuilder().setPayloadType("not a name!")).build()), "transaction.payload_type");
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("x").toBuilder().setPayload(ByteString.copyFrom(new byte[64 * 1024 + 1]))).build()),
                "transaction.payload");
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("x").toBuilder().setSignature(ByteString.copyFrom(new byte[64]))).build()),
                "transaction.sender_public_key");
        byte[] clientSeed = Ed25519.newPrivateSeed(new SecureRandom());
        Transaction signed = Transactions.sign(tx("signed"), Ed25519.signingKey(clientSeed), Ed25519.publicKey(clientSeed));
        byte[] badSig = signed.getSignature().toByteArray();
        badSig[3] ^= 1;
        Transaction forged = signed.toBuilder().setSignature(ByteString.copyFrom(badSig)).build();
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(forged).build()),
                "transaction.signature");
        assertInvalid(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder()
                .setTransaction(tx("x").toBuilder().setValidUntilHeight(Long.MAX_VALUE / 2)).build()),
                "transaction.valid_until_height");
        assertInvalid(() -> api().getTransaction(GetTransactionRequest.newBuilder().setTxId("abc").build()), "tx_id");
        assertInvalid(() -> api().getBlock(GetBlockRequest.newBuilder().setHeight(0).build()), "height");
        assertInvalid(() -> api().listBlocks(ListBlocksRequest.newBuilder().setPageToken("garbage!").build()), "page_token");
        assertInvalid(() -> api().getFinalityProof(GetFinalityProofRequest.newBuilder().setHeight(1).setTxId("zz").build()),
                "tx_id");
        assertThatThrownBy(() -> api().getBlock(GetBlockRequest.newBuilder().setHeight(head + 1_000_000).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> api().getTransaction(GetTransactionRequest.newBuilder()
                .setTxId(Transactions.idOf(tx("never sent").toByteArray())).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

        // a good signed transaction commits; sent again it is a duplicate
        SubmitTransactionResponse ok = api().submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(signed)
                .setWaitForCommit(true).build());
        assertThat(ok.getStatus()).isEqualTo(TransactionStatus.TRANSACTION_STATUS_COMMITTED);
        assertThatThrownBy(() -> api().submitTransaction(SubmitTransactionRequest.newBuilder().setTransaction(signed).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));

        // nothing of the refused ones was ordered: every committed transaction is the signed one
        long now = api().getStatus(GetStatusRequest.getDefaultInstance()).getCommittedHeight();
        int txs = 0;
        for (long h = 1; h <= now; h++) {
            var block = api().getBlock(GetBlockRequest.newBuilder().setHeight(h).build()).getBlock();
            for (Transaction t : block.getTransactionsList()) {
                assertThat(t).isEqualTo(signed);
                txs++;
            }
        }
        assertThat(txs).isEqualTo(1);
    }

    /** Sends the requests on one SubmitTransactions stream, half-closes, and collects the answers by sequence. */
    Map<Long, SubmitTransactionsResponse> submitAll(List<SubmitTransactionsRequest> requests) throws InterruptedException {
        Map<Long, SubmitTransactionsResponse> answers = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Throwable[] failure = new Throwable[1];
        io.grpc.stub.StreamObserver<SubmitTransactionsRequest> in = ConsensusServiceGrpc.newStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).submitTransactions(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(SubmitTransactionsResponse r) {
                        answers.put(r.getSequence(), r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        failure[0] = t;
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        done.countDown();
                    }
                });
        requests.forEach(in::onNext);
        in.onCompleted();
        assertThat(done.await(40, TimeUnit.SECONDS)).as("the stream ends").isTrue();
        assertThat(failure[0]).isNull();
        return answers;
    }

    static void assertInvalid(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String field) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith(field + ":");
        });
    }
}
