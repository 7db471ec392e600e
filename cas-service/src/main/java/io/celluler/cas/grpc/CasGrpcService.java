package io.celluler.cas.grpc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Ingest;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.replication.ReplicaIndex;
import io.celluler.cas.replication.ErasureIndex;
import io.celluler.cas.replication.Replicator;
import io.celluler.cas.store.Erasure;
import io.celluler.proto.cas.v1.ErasureCoding;
import io.celluler.proto.cas.v1.ShardCopy;
import io.celluler.cas.store.ChunkStore;
import io.celluler.cas.store.ContentIndex.Pin;
import io.celluler.cas.store.ContentIndex.PinResult;
import io.celluler.cas.store.ContentIndex.StoredManifest;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.ChunkRef;
import io.celluler.proto.cas.v1.DeleteRequest;
import io.celluler.proto.cas.v1.DeleteResponse;
import io.celluler.proto.cas.v1.FetchChunksRequest;
import io.celluler.proto.cas.v1.FetchChunksResponse;
import io.celluler.proto.cas.v1.GetManifestRequest;
import io.celluler.proto.cas.v1.GetManifestResponse;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.HasChunksRequest;
import io.celluler.proto.cas.v1.HasChunksResponse;
import io.celluler.proto.cas.v1.ListRequest;
import io.celluler.proto.cas.v1.ListResponse;
import io.celluler.proto.cas.v1.ObjectInfo;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.ReplicaCopy;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.StatResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Service;

/** gRPC adapter of {@link ContentService}: content by its root, and chunks for other cells. */
@Service
public class CasGrpcService extends CasServiceGrpc.CasServiceImplBase implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(CasGrpcService.class);
    static final int MEDIA_TYPE_MAX_CHARS = 255;
    static final int MAX_HAS_CHUNKS = 10_000;
    static final int MAX_FETCH_CHUNKS = 1_000;
    static final int MAX_PAGE_SIZE = 1_000;
    /** Bytes of chunk data per FetchChunks message at most. */
    static final int FETCH_PIECE_BYTES = 1 << 20;

    private final ContentService content;
    private final Replicator replicator;
    private final int readChunkSizeBytes;
    /** Reads for Get streams: chunk files are read and verified off the gRPC threads. */
    private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();

    public CasGrpcService(ContentService content, Replicator replicator, CasProperties properties) {
        this.content = content;
        this.replicator = replicator;
        this.readChunkSizeBytes = (int) properties.readChunkSize().toBytes();
    }

    // ---- Put ----------------------------------------------------------------------------------------------------

    @Override
    public StreamObserver<PutRequest> put(StreamObserver<PutResponse> responses) {
        return new PutCall(responses);
    }

    /** One Put: validates as it goes; on any failure nothing is pinned (chunks written are left to the GC). */
    private final class PutCall implements StreamObserver<PutRequest> {

        private final StreamObserver<PutResponse> responses;
        private Ingest upload;
        private String expectedSha256 = "";
        private String mediaType = "";
        private int replicationFactor;
        private Erasure erasure = Erasure.NONE;
        private boolean closed;

        PutCall(StreamObserver<PutResponse> responses) {
            this.responses = responses;
        }

        @Override
        public void onNext(PutRequest request) {
            if (closed) {
                return;
            }
            try {
                if (upload == null) {
                    expectedSha256 = request.getExpectedSha256();
                    mediaType = request.getMediaType();
                    if (!expectedSha256.isEmpty() && !Sha256.isCanonicalHex(expectedSha256)) {
                        throw GrpcErrors.invalidArgument("expected_sha256", "must be 64 lowercase hex characters");
                    }
                    if (mediaType.length() > MEDIA_TYPE_MAX_CHARS) {
                        throw GrpcErrors.invalidArgument("media_type", "must be at most " + MEDIA_TYPE_MAX_CHARS + " characters");
                    }
                    replicationFactor = request.getReplicationFactor();
                    if (replicationFactor < 0 || replicationFactor > content.maxReplicationFactor()) {
                        throw GrpcErrors.invalidArgument("replication_factor", "must be between 0 (the cell's default, "
                                + content.defaultReplicationFactor() + ") and " + content.maxReplicationFactor());
                    }
                    if (request.hasErasure()) {
                        erasure = erasure(request.getErasure());
                        if (replicationFactor > 1) {
                            throw GrpcErrors.invalidArgument("erasure", "content is kept either in copies or"
                                    + " erasure-coded, not both (replication_factor is " + replicationFactor + ")");
                        }
                    }
                    upload = content.begin(false);
                } else if (!request.getExpectedSha256().isEmpty() || !request.getMediaType().isEmpty()
                        || request.getReplicationFactor() != 0 || request.hasErasure()) {
                    throw GrpcErrors.invalidArgument(!request.getExpectedSha256().isEmpty() ? "expected_sha256"
                            : !request.getMediaType().isEmpty() ? "media_type"
                            : request.hasErasure() ? "erasure" : "replication_factor",
                            "may only be set in the first message of the stream");
                }
                ByteString data = request.getData();
                byte[] bytes = data.toByteArray();
                upload.write(bytes, 0, bytes.length);
            } catch (StatusRuntimeException e) {
                fail(e);
            } catch (Ingest.TooLargeException e) {
                fail(GrpcErrors.limitExceeded("data", "the content exceeds the maximum size of " + e.maxSizeBytes()
                        + " bytes (celluler.cas.max-object-size)"));
            } catch (IOException e) {
                fail(ioFailure("storing chunks", e));
            }
        }

        @Override
        public void onError(Throwable t) {
            // the client cancelled or the connection broke: nothing is pinned
            closed = true;
            release();
        }

        @Override
        public void onCompleted() {
            if (closed) {
                return;
            }
            try {
                if (upload == null) {
                    upload = content.begin(false); // no message at all: empty content
                }
                Ingest.Result stored = upload.finish();
                String actual = stored.manifest().contentSha256();
                if (!expectedSha256.isEmpty() && !expectedSha256.equals(actual)) {
                    throw GrpcErrors.invalidArgument("expected_sha256",
                            "the bytes hash to " + actual + ", not " + expectedSha256 + "; nothing was stored");
                }
                PinResult pinned = content.pin(upload, stored, mediaType, replicationFactor, erasure);
                closed = true;
                responses.onNext(PutResponse.newBuilder().setObject(info(pinned.pin()))
                        .setAlreadyPinned(pinned.alreadyPinned()).setNewChunks(stored.newChunks())
                        .setNewBytes(stored.newBytes()).build());
                responses.onCompleted();
            } catch (StatusRuntimeException e) {
                fail(e);
            } catch (IOException e) {
                fail(ioFailure("storing chunks", e));
            } catch (DataAccessException e) {
                // the chunks are durable; without the pin nobody references them, and a retry finds them stored
                log.error("metadata store failed while pinning content", e);
                fail(Status.UNAVAILABLE.withDescription("the metadata store is unavailable: "
                        + e.getMostSpecificCause().getMessage() + "; retry the put").asRuntimeException());
            } finally {
                release();
            }
        }

        private void fail(StatusRuntimeException e) {
            closed = true;
            release();
            responses.onError(e);
        }

        private void release() {
            if (upload != null) {
                upload.close();
            }
        }
    }

    // ---- Get ----------------------------------------------------------------------------------------------------

    @Override
    public void get(GetRequest request, StreamObserver<GetResponse> responses) {
        ObjectInfo object;
        StoredManifest m;
        try {
            String root = checkRoot("root", request.getRoot());
            m = content.manifest(root).filter(x -> x.refCount() > 0)
                    .orElseThrow(() -> GrpcErrors.notFound("no content " + root + " on this cell"));
            // pinned here, or kept here for another cell (a copy) or for an object of a bucket: content is content
            object = content.index().pinOf(root).map(CasGrpcService::info).orElseGet(() -> info(m));
            if (request.getOffset() < 0 || request.getOffset() > m.manifest().sizeBytes()) {
                throw GrpcErrors.invalidArgument("offset", "must be between 0 and the size (" + m.manifest().sizeBytes() + ")");
            }
            if (request.getLength() < 0) {
                throw GrpcErrors.invalidArgument("length", "must not be negative (0 reads to the end)");
            }
        } catch (StatusRuntimeException e) {
            responses.onError(e);
            return;
        } catch (DataAccessException e) {
            responses.onError(metadataUnavailable(e));
            return;
        }
        long length = request.getLength() == 0 ? m.manifest().sizeBytes() - request.getOffset() : request.getLength();
        ServerCallStreamObserver<GetResponse> out = (ServerCallStreamObserver<GetResponse>) responses;
        FlowControl flow = new FlowControl(out);
        readers.execute(() -> {
            // verified chunks are coalesced into messages of read-chunk-size (chunks average 64 KiB)
            byte[] buffer = new byte[(int) Math.min(readChunkSizeBytes, Math.max(1, length))];
            int[] filled = {0};
            boolean[] first = {true};
            Runnable flush = () -> {
                GetResponse.Builder msg = GetResponse.newBuilder().setData(ByteString.copyFrom(buffer, 0, filled[0]));
                if (first[0]) {
                    msg.setObject(object);
                    first[0] = false;
                }
                out.onNext(msg.build());
                filled[0] = 0;
            };
            try {
                content.read(m.manifest(), request.getOffset(), length, (buf, off, len) -> {
                    int at = off;
                    while (at < off + len) {
                        int n = Math.min(buffer.length - filled[0], off + len - at);
                        System.arraycopy(buf, at, buffer, filled[0], n);
                        filled[0] += n;
                        at += n;
                        if (filled[0] == buffer.length) {
                            if (!flow.awaitReady()) {
                                return false;
                            }
                            flush.run();
                        }
                    }
                    return true;
                });
                if (flow.cancelled()) {
                    return;
                }
                if (filled[0] > 0 || first[0]) {
                    flow.awaitReady();
                    flush.run(); // the rest, or the information alone for empty content or range
                }
                out.onCompleted();
            } catch (ChunkStore.MissingChunkException e) {
                log.error("content {}: {}", object.getRoot(), e.getMessage());
                out.onError(Status.DATA_LOSS.withDescription("content " + object.getRoot() + " cannot be served from this cell: "
                        + e.getMessage()).asRuntimeException());
            } catch (IOException e) {
                out.onError(ioFailure("reading content " + object.getRoot(), e));
            } catch (RuntimeException e) {
                log.error("reading content {} failed", object.getRoot(), e);
                out.onError(Status.INTERNAL.withDescription("reading content failed: " + e).asRuntimeException());
            }
        });
    }

    // ---- Stat, Delete, List, GetManifest ---------------------------------------------------------------------

    @Override
    public void stat(StatRequest request, StreamObserver<StatResponse> responses) {
        answer(responses, () -> {
            Pin pin = pinOrThrow(request.getRoot());
            StatResponse.Builder b = StatResponse.newBuilder().setObject(info(pin))
                    .setReplicationFactor(replicator.factorOf(pin.root()));
            for (ReplicaIndex.Copy c : replicator.copiesOf(pin.root())) {
                b.addReplicas(ReplicaCopy.newBuilder().setCellId(c.cellId()).setComplete(c.chunksMissing() == 0)
                        .setChunksMissing(c.chunksMissing()).setCheckedAt(timestamp(c.checkedAt())));
            }
            Erasure e = replicator.erasureOf(pin.root());
            if (!e.none()) {
                b.setErasure(ErasureCoding.newBuilder().setDataShards(e.dataShards()).setParityShards(e.parityShards()));
                for (ErasureIndex.ShardCopy c : replicator.shardsOf(pin.root())) {
                    b.addShards(ShardCopy.newBuilder().setShardIndex(c.shardIndex()).setCellId(c.cellId())
                            .setComplete(c.chunksMissing() == 0).setChunksMissing(c.chunksMissing())
                            .setCheckedAt(timestamp(c.checkedAt())));
                }
            }
            return b.build();
        });
    }

    private static Erasure erasure(ErasureCoding e) {
        try {
            return new Erasure(e.getDataShards(), e.getParityShards());
        } catch (IllegalArgumentException bad) {
            throw GrpcErrors.invalidArgument("erasure", bad.getMessage());
        }
    }

    @Override
    public void delete(DeleteRequest request, StreamObserver<DeleteResponse> responses) {
        answer(responses, () -> {
            String root = checkRoot("root", request.getRoot());
            if (!content.unpin(root)) {
                throw GrpcErrors.notFound("no content " + root + " is pinned on this cell");
            }
            return DeleteResponse.getDefaultInstance();
        });
    }

    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> responses) {
        answer(responses, () -> {
            if (request.getPageSize() < 0 || request.getPageSize() > MAX_PAGE_SIZE) {
                throw GrpcErrors.invalidArgument("page_size", "must be between 1 and " + MAX_PAGE_SIZE + " (0: 100)");
            }
            String after = request.getPageToken();
            if (!after.isEmpty() && !Sha256.isCanonicalHex(after)) {
                throw GrpcErrors.invalidArgument("page_token", "is not a token from a previous answer");
            }
            int size = request.getPageSize() == 0 ? 100 : request.getPageSize();
            List<Pin> page = content.index().pins(after, size + 1);
            ListResponse.Builder b = ListResponse.newBuilder();
            page.stream().limit(size).forEach(p -> b.addObjects(info(p)));
            if (page.size() > size) {
                b.setNextPageToken(page.get(size - 1).root());
            }
            return b.build();
        });
    }

    @Override
    public void getManifest(GetManifestRequest request, StreamObserver<GetManifestResponse> responses) {
        answer(responses, () -> {
            String root = checkRoot("root", request.getRoot());
            Manifest m = content.manifest(root).orElseThrow(() -> GrpcErrors.notFound("no content " + root + " on this cell"))
                    .manifest();
            GetManifestResponse.Builder b = GetManifestResponse.newBuilder().setRoot(m.root())
                    .setContentSha256(m.contentSha256()).setSizeBytes(m.sizeBytes());
            m.chunks().forEach(c -> b.addChunks(ChunkRef.newBuilder().setSha256(c.sha256()).setSizeBytes(c.sizeBytes())));
            return b.build();
        });
    }

    // ---- chunks for other cells ------------------------------------------------------------------------------

    @Override
    public void hasChunks(HasChunksRequest request, StreamObserver<HasChunksResponse> responses) {
        answer(responses, () -> HasChunksResponse.newBuilder()
                .addAllPresent(content.present(checkHashes(request.getSha256List(), MAX_HAS_CHUNKS))).build());
    }

    @Override
    public void fetchChunks(FetchChunksRequest request, StreamObserver<FetchChunksResponse> responses) {
        List<String> hashes;
        try {
            hashes = checkHashes(request.getSha256List(), MAX_FETCH_CHUNKS);
        } catch (StatusRuntimeException e) {
            responses.onError(e);
            return;
        }
        ServerCallStreamObserver<FetchChunksResponse> out = (ServerCallStreamObserver<FetchChunksResponse>) responses;
        FlowControl flow = new FlowControl(out);
        readers.execute(() -> {
            try {
                for (String h : hashes) {
                    byte[] data;
                    try {
                        data = content.chunks().read(h);
                    } catch (ChunkStore.MissingChunkException e) {
                        if (!flow.awaitReady()) {
                            return;
                        }
                        out.onNext(FetchChunksResponse.newBuilder().setSha256(h).setMissing(true).build());
                        continue;
                    }
                    for (int at = 0; at == 0 || at < data.length; at += FETCH_PIECE_BYTES) {
                        if (!flow.awaitReady()) {
                            return;
                        }
                        out.onNext(FetchChunksResponse.newBuilder().setSha256(h).setOffset(at).setSizeBytes(data.length)
                                .setData(ByteString.copyFrom(data, at, Math.min(FETCH_PIECE_BYTES, data.length - at))).build());
                    }
                }
                out.onCompleted();
            } catch (IOException e) {
                out.onError(ioFailure("reading chunks", e));
            }
        });
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** A unary answer: the request's refusal (a status) or the metadata store's failure (UNAVAILABLE) as errors. */
    private static <T> void answer(StreamObserver<T> responses, java.util.function.Supplier<T> body) {
        try {
            responses.onNext(body.get());
            responses.onCompleted();
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        } catch (DataAccessException e) {
            responses.onError(metadataUnavailable(e));
        }
    }

    private Pin pinOrThrow(String root) {
        String r = checkRoot("root", root);
        return content.index().pinOf(r).orElseThrow(() -> GrpcErrors.notFound("no content " + r + " is pinned on this cell"));
    }

    private static String checkRoot(String field, String root) {
        if (root.isEmpty()) {
            throw GrpcErrors.invalidArgument(field, "is required");
        }
        if (!Sha256.isCanonicalHex(root)) {
            throw GrpcErrors.invalidArgument(field, "must be 64 lowercase hex characters");
        }
        return root;
    }

    private static List<String> checkHashes(List<String> hashes, int max) {
        if (hashes.isEmpty()) {
            throw GrpcErrors.invalidArgument("sha256", "name at least one chunk");
        }
        if (hashes.size() > max) {
            throw GrpcErrors.limitExceeded("sha256", "at most " + max + " chunks per request");
        }
        List<String> out = new ArrayList<>(hashes.size());
        for (int i = 0; i < hashes.size(); i++) {
            if (!Sha256.isCanonicalHex(hashes.get(i))) {
                throw GrpcErrors.invalidArgument("sha256[" + i + "]", "must be 64 lowercase hex characters");
            }
            out.add(hashes.get(i));
        }
        return out;
    }

    private static StatusRuntimeException metadataUnavailable(DataAccessException e) {
        log.error("metadata store failed", e);
        return Status.UNAVAILABLE.withDescription("the metadata store is unavailable: " + e.getMostSpecificCause().getMessage())
                .asRuntimeException();
    }

    private static StatusRuntimeException ioFailure(String what, IOException e) {
        log.error("I/O failure {}", what, e);
        return Status.INTERNAL.withDescription("storage failure " + what + ": " + e.getMessage()).asRuntimeException();
    }

    static ObjectInfo info(Pin p) {
        return ObjectInfo.newBuilder().setRoot(p.root()).setContentSha256(p.contentSha256()).setSizeBytes(p.sizeBytes())
                .setChunkCount(p.chunkCount()).setMediaType(p.mediaType())
                .setCreatedAt(timestamp(p.createdAt())).build();
    }

    static ObjectInfo info(StoredManifest m) {
        return ObjectInfo.newBuilder().setRoot(m.manifest().root()).setContentSha256(m.manifest().contentSha256())
                .setSizeBytes(m.manifest().sizeBytes()).setChunkCount(m.manifest().chunks().size())
                .setCreatedAt(timestamp(m.createdAt())).build();
    }

    private static Timestamp timestamp(java.time.Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    @Override
    public void destroy() {
        readers.shutdownNow();
    }
}
