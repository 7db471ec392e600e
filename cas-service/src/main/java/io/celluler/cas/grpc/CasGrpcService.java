package io.celluler.cas.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Clock;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.cas.config.CasProperties;
import io.celluler.cas.store.BlobEntity;
import io.celluler.cas.store.BlobFileStore;
import io.celluler.cas.store.BlobStore;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.BlobInfo;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.StatResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Service;

/** gRPC adapter of the blob store: Put (client stream), Get (server stream), Stat. Delete and List are not built yet. */
@Service
public class CasGrpcService extends CasServiceGrpc.CasServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(CasGrpcService.class);
    static final int MEDIA_TYPE_MAX_CHARS = 255;

    private final BlobStore store;
    private final long maxBlobSizeBytes;
    private final int readChunkSizeBytes;
    private final Clock clock;

    public CasGrpcService(BlobStore store, CasProperties properties) {
        this.store = store;
        this.maxBlobSizeBytes = properties.maxBlobSize().toBytes();
        this.readChunkSizeBytes = (int) properties.readChunkSize().toBytes();
        this.clock = Clock.systemUTC();
    }

    @Override
    public StreamObserver<PutRequest> put(StreamObserver<PutResponse> responses) {
        return new PutCall(responses);
    }

    /** One Put: validates as it goes, and on any failure drops the upload so nothing partial stays. */
    private final class PutCall implements StreamObserver<PutRequest> {

        private final StreamObserver<PutResponse> responses;
        private BlobFileStore.Upload upload;
        private String expectedSha256 = "";
        private String mediaType = "";
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
                    upload = store.begin();
                } else if (!request.getExpectedSha256().isEmpty() || !request.getMediaType().isEmpty()) {
                    throw GrpcErrors.invalidArgument(request.getExpectedSha256().isEmpty() ? "media_type" : "expected_sha256",
                            "may only be set in the first message of the stream");
                }
                ByteString data = request.getData();
                if (upload.sizeBytes() + data.size() > maxBlobSizeBytes) {
                    throw GrpcErrors.limitExceeded("data", "blob exceeds the maximum size of " + maxBlobSizeBytes
                            + " bytes (celluler.cas.max-blob-size)");
                }
                upload.write(data.asReadOnlyByteBuffer());
            } catch (StatusRuntimeException e) {
                fail(e);
            } catch (IOException e) {
                fail(ioFailure("writing the upload", e));
            }
        }

        @Override
        public void onError(Throwable t) {
            // the client cancelled or the connection broke: keep nothing
            closed = true;
            abort();
        }

        @Override
        public void onCompleted() {
            if (closed) {
                return;
            }
            try {
                if (upload == null || upload.sizeBytes() == 0) {
                    throw GrpcErrors.invalidArgument("data", "blob is empty: send at least one byte");
                }
                String actual = upload.finish();
                if (!expectedSha256.isEmpty() && !expectedSha256.equals(actual)) {
                    throw GrpcErrors.invalidArgument("expected_sha256",
                            "the bytes hash to " + actual + ", not " + expectedSha256 + "; nothing was stored");
                }
                BlobStore.Stored stored = store.commit(upload, mediaType.isEmpty() ? null : mediaType, clock.instant());
                closed = true;
                responses.onNext(PutResponse.newBuilder()
                        .setBlob(toProto(stored.blob()))
                        .setAlreadyExisted(stored.alreadyExisted())
                        .build());
                responses.onCompleted();
            } catch (StatusRuntimeException e) {
                fail(e);
            } catch (IOException e) {
                fail(ioFailure("storing the blob", e));
            } catch (DataAccessException e) {
                // the bytes are durable under their address; without the row nobody sees them, and a retry
                // of the same put finds the file and writes the row
                log.error("metadata store failed while storing a blob", e);
                fail(Status.UNAVAILABLE.withDescription("the metadata store is unavailable: "
                        + e.getMostSpecificCause().getMessage() + "; retry the put").asRuntimeException());
            }
        }

        private void fail(StatusRuntimeException e) {
            closed = true;
            abort();
            responses.onError(e);
        }

        private void abort() {
            if (upload != null) {
                upload.abort();
            }
        }
    }

    @Override
    public void stat(StatRequest request, StreamObserver<StatResponse> responses) {
        try {
            BlobEntity blob = findOrThrow(request.getSha256());
            responses.onNext(StatResponse.newBuilder().setBlob(toProto(blob)).build());
            responses.onCompleted();
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        }
    }

    @Override
    public void get(GetRequest request, StreamObserver<GetResponse> responses) {
        BlobEntity blob;
        InputStream in;
        try {
            blob = findOrThrow(request.getSha256());
            in = store.open(blob.sha256());
        } catch (StatusRuntimeException e) {
            responses.onError(e);
            return;
        } catch (IOException e) {
            responses.onError(Status.DATA_LOSS.withDescription("blob " + request.getSha256()
                    + " is registered but its bytes cannot be read").asRuntimeException());
            return;
        }
        new GetCall((ServerCallStreamObserver<GetResponse>) responses, blob, in).start();
    }

    /** Streams a blob with flow control (a slow reader never makes the server buffer the whole blob). */
    private final class GetCall {

        private final ServerCallStreamObserver<GetResponse> responses;
        private final BlobEntity blob;
        private final InputStream in;
        private final MessageDigest digest = Sha256.newDigest();
        private boolean first = true;
        private boolean done;

        GetCall(ServerCallStreamObserver<GetResponse> responses, BlobEntity blob, InputStream in) {
            this.responses = responses;
            this.blob = blob;
            this.in = in;
        }

        void start() {
            responses.setOnCancelHandler(this::close);
            responses.setOnReadyHandler(this::drain);
        }

        private synchronized void drain() {
            try {
                while (!done && responses.isReady()) {
                    byte[] buf = in.readNBytes(readChunkSizeBytes);
                    if (buf.length == 0) {
                        finish();
                        return;
                    }
                    digest.update(buf);
                    GetResponse.Builder msg = GetResponse.newBuilder().setData(ByteString.copyFrom(buf));
                    if (first) {
                        msg.setBlob(toProto(blob));
                        first = false;
                    }
                    responses.onNext(msg.build());
                }
            } catch (IOException e) {
                close();
                responses.onError(ioFailure("reading blob " + blob.sha256(), e));
            }
        }

        private void finish() {
            close();
            String actual = Sha256.hex(digest.digest());
            if (!actual.equals(blob.sha256())) {
                log.error("blob {} is corrupt on disk: its bytes hash to {}", blob.sha256(), actual);
                responses.onError(Status.DATA_LOSS.withDescription("blob " + blob.sha256()
                        + " is corrupt on this cell (its bytes hash to " + actual + ")").asRuntimeException());
            } else {
                responses.onCompleted();
            }
        }

        private synchronized void close() {
            done = true;
            try {
                in.close();
            } catch (IOException ignored) {
                // nothing more to read from it either way
            }
        }
    }

    private BlobEntity findOrThrow(String sha256) {
        if (sha256.isEmpty()) {
            throw GrpcErrors.invalidArgument("sha256", "is required");
        }
        if (!Sha256.isCanonicalHex(sha256)) {
            throw GrpcErrors.invalidArgument("sha256", "must be 64 lowercase hex characters");
        }
        try {
            return store.find(sha256).orElseThrow(() -> GrpcErrors.notFound("no blob " + sha256 + " on this cell"));
        } catch (DataAccessException e) {
            log.error("metadata store failed while reading blob {}", sha256, e);
            throw Status.UNAVAILABLE.withDescription("the metadata store is unavailable: "
                    + e.getMostSpecificCause().getMessage()).asRuntimeException();
        }
    }

    private static StatusRuntimeException ioFailure(String what, IOException e) {
        log.error("I/O failure {}", what, e);
        return Status.INTERNAL.withDescription("storage failure " + what + ": " + e.getMessage()).asRuntimeException();
    }

    static BlobInfo toProto(BlobEntity blob) {
        BlobInfo.Builder b = BlobInfo.newBuilder()
                .setSha256(blob.sha256())
                .setSizeBytes(blob.sizeBytes())
                .setCreatedAt(Timestamp.newBuilder()
                        .setSeconds(blob.createdAt().getEpochSecond())
                        .setNanos(blob.createdAt().getNano()));
        if (blob.mediaType() != null) {
            b.setMediaType(blob.mediaType());
        }
        return b.build();
    }
}
