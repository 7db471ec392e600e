package io.celluler.state.grpc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.celluler.core.hash.Sha256;
import io.celluler.proto.consensus.v1.Block;
import io.celluler.proto.consensus.v1.BlockHeader;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc.ConsensusServiceImplBase;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.celluler.proto.consensus.v1.GetStatusResponse;
import io.celluler.proto.consensus.v1.StreamBlocksRequest;
import io.celluler.proto.consensus.v1.StreamBlocksResponse;
import io.celluler.proto.consensus.v1.Transaction;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * The edge of state-service's integration tests: a consensus-service stand-in on loopback that serves a chain the
 * test builds (StreamBlocks from a height, then new blocks as they are appended; GetStatus). The real one is in the
 * cli module's network tests.
 */
final class FakeConsensus extends ConsensusServiceImplBase implements AutoCloseable {

    private final List<Block> blocks = new ArrayList<>();
    /** The from_height of every StreamBlocks call, in order. */
    final List<Long> streamsFrom = new CopyOnWriteArrayList<>();
    private final Server server;

    FakeConsensus() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(this).build().start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /** Appends a block of these transactions on top of the chain; answers it. */
    synchronized Block append(Transaction... txs) {
        String parent = blocks.isEmpty() ? Sha256.hexOf("genesis".getBytes(StandardCharsets.UTF_8))
                : blocks.getLast().getHeader().getBlockHash();
        return append(parent, txs);
    }

    /** Appends a block naming {@code parent} as its parent, whatever the chain's head is. */
    synchronized Block append(String parent, Transaction... txs) {
        long height = blocks.size() + 1;
        Block.Builder b = Block.newBuilder();
        StringBuilder ids = new StringBuilder();
        for (Transaction t : txs) {
            String id = Sha256.hexOf(t.toByteArray());
            b.addTransactions(t).addTxIds(id);
            ids.append(id);
        }
        String hash = Sha256.hexOf((height + "/" + parent + "/" + ids).getBytes(StandardCharsets.UTF_8));
        Block block = b.setHeader(BlockHeader.newBuilder().setHeight(height).setParentHash(parent).setBlockHash(hash)
                .setTxCount(txs.length)).build();
        blocks.add(block);
        notifyAll();
        return block;
    }

    synchronized int height() {
        return blocks.size();
    }

    @Override
    public void getStatus(GetStatusRequest request, StreamObserver<GetStatusResponse> out) {
        out.onNext(GetStatusResponse.newBuilder().setCommittedHeight(height()).build());
        out.onCompleted();
    }

    @Override
    public void streamBlocks(StreamBlocksRequest request, StreamObserver<StreamBlocksResponse> out) {
        streamsFrom.add(request.getFromHeight());
        ServerCallStreamObserver<StreamBlocksResponse> call = (ServerCallStreamObserver<StreamBlocksResponse>) out;
        Thread.ofVirtual().start(() -> {
            long next = request.getFromHeight();
            // bounded: ends when the caller cancels or the server stops (a test lasts minutes at most)
            for (int idle = 0; !call.isCancelled() && !server.isShutdown() && idle < 1_200; ) {
                Block b = null;
                synchronized (this) {
                    if (next <= blocks.size()) {
                        b = blocks.get((int) next - 1);
                    } else {
                        try {
                            wait(100);
                        } catch (InterruptedException e) {
                            return;
                        }
                        idle++;
                    }
                }
                if (b != null) {
                    out.onNext(StreamBlocksResponse.newBuilder().setBlock(b).build());
                    next++;
                    idle = 0;
                }
            }
            if (!call.isCancelled()) {
                out.onCompleted();
            }
        });
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
}
