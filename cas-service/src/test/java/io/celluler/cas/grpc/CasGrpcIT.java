package io.celluler.cas.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Random;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.google.rpc.BadRequest;
import io.celluler.cas.CasServiceApplication;
import io.celluler.cas.object.ContentService;
import io.celluler.cas.object.Manifest;
import io.celluler.cas.erasure.ReedSolomon;
import io.celluler.cas.replication.ErasureIndex;
import io.celluler.cas.replication.PeerProtocol;
import io.celluler.cas.replication.ReplicaIndex;
import io.celluler.cas.replication.Replicator;
import io.celluler.core.cas.ContentUpload;
import io.celluler.core.test.RunningService;
import io.celluler.core.hash.Sha256;
import io.celluler.core.hash.Merkle;
import io.celluler.proto.cas.v1.ChunkRef;
import io.celluler.proto.cas.v1.DeleteRequest;
import io.celluler.proto.cas.v1.FetchChunksRequest;
import io.celluler.proto.cas.v1.FetchChunksResponse;
import io.celluler.proto.cas.v1.GetManifestRequest;
import io.celluler.proto.cas.v1.GetManifestResponse;
import io.celluler.proto.cas.v1.HasChunksRequest;
import io.celluler.proto.cas.v1.ListResponse;
import io.celluler.proto.cas.v1.ObjectInfo;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.StatResponse;
import io.celluler.proto.cas.v1.PeerChunkPiece;
import io.celluler.proto.cas.v1.ErasureCoding;
import io.celluler.proto.cas.v1.PeerCopyWanted;
import io.celluler.proto.cas.v1.PeerFetchShards;
import io.celluler.proto.cas.v1.PeerKeepShard;
import io.celluler.proto.cas.v1.PeerShardPiece;
import io.celluler.proto.cas.v1.PeerShardPieces;
import io.celluler.proto.cas.v1.PeerShardRef;
import io.celluler.proto.cas.v1.PeerFetchChunk;
import io.celluler.proto.cas.v1.PeerFetchManifest;
import io.celluler.proto.cas.v1.PeerManifestPage;
import io.celluler.proto.cas.v1.PeerRelease;
import io.celluler.proto.cas.v1.PeerReplicaState;
import io.celluler.proto.cas.v1.PeerReplicaStatus;
import io.celluler.proto.cas.v1.PeerReplicate;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.ListRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cas-service over real gRPC on loopback, on its embedded default (H2 file + local filesystem). The same
 * scenarios run against PostgreSQL in {@link CasPostgresIT}.
 */
class CasGrpcIT {

    @TempDir
    Path dataDir;

    private RunningService service;
    private ManagedChannel channel;

    /** Extra arguments for the context; overridden by the PostgreSQL variant. */
    protected List<String> extraArgs() {
        return List.of();
    }

    protected void start() {
        List<String> args = new ArrayList<>(List.of("--celluler.cas.max-object-size=2MB",
                "--celluler.cas.read-chunk-size=64KB"));
        args.addAll(extraArgs());
        service = RunningService.start(CasServiceApplication.class, CasServiceApplication.NAME, dataDir, args);
        channel = service.channel();
    }

    protected void stop() throws InterruptedException {
        if (service != null) {
            service.close();
            service = null;
            channel = null;
        }
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        stop();
    }

    private CasServiceGrpc.CasServiceBlockingStub blocking() {
        return CasServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Client-streams {@code data} in pieces of {@code pieceSize}; the first message carries {@code first}'s fields. */
    private PutResponse put(byte[] data, int pieceSize, PutRequest first) throws Exception {
        return ContentUpload.put(channel, data, pieceSize, first, Duration.ofSeconds(30));
    }

    private byte[] get(String root) {
        return get(GetRequest.newBuilder().setRoot(root).build());
    }

    private byte[] get(GetRequest request) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Iterator<GetResponse> it = blocking().get(request);
        it.forEachRemaining(r -> out.writeBytes(r.getData().toByteArray()));
        return out.toByteArray();
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private long chunkFiles() throws Exception {
        Path chunks = dataDir.resolve("cas-service/store/chunks");
        if (!Files.isDirectory(chunks)) {
            return 0;
        }
        try (var files = Files.walk(chunks)) {
            return files.filter(Files::isRegularFile).count();
        }
    }

    private Path chunkFile(String sha) {
        return dataDir.resolve("cas-service/store/chunks").resolve(sha.substring(0, 2)).resolve(sha.substring(2, 4)).resolve(sha);
    }

    @Test
    void putStreamsInGetStreamsOutStatAndManifestDescribe() throws Exception {
        start();
        byte[] data = randomBytes(1_500_000, 1);
        String expected = Sha256.hexOf(data);

        PutResponse put = put(data, 100_000,
                PutRequest.newBuilder().setExpectedSha256(expected).setMediaType("application/octet-stream").build());

        ObjectInfo info = put.getObject();
        assertThat(info.getContentSha256()).isEqualTo(expected);
        assertThat(info.getSizeBytes()).isEqualTo(data.length);
        assertThat(info.getChunkCount()).isGreaterThan(1); // 64 KiB average chunks
        assertThat(put.getAlreadyPinned()).isFalse();
        assertThat(put.getNewBytes()).isEqualTo(data.length);
        assertThat(get(info.getRoot())).isEqualTo(data);
        assertThat(blocking().stat(StatRequest.newBuilder().setRoot(info.getRoot()).build()).getObject()).isEqualTo(info);
        assertThat(info.getMediaType()).isEqualTo("application/octet-stream");

        // the manifest lists the chunks; their Merkle root is the content's name, and they add up to the bytes
        GetManifestResponse m = blocking().getManifest(GetManifestRequest.newBuilder().setRoot(info.getRoot()).build());
        assertThat(m.getChunksList()).hasSize(info.getChunkCount());
        assertThat(Merkle.rootOfIds(m.getChunksList().stream().map(ChunkRef::getSha256).toList())).isEqualTo(info.getRoot());
        assertThat(m.getChunksList().stream().mapToLong(ChunkRef::getSizeBytes).sum()).isEqualTo(data.length);
        assertThat(chunkFiles()).isEqualTo(info.getChunkCount());

        // the server streams in read-chunk-size pieces at most, the information on the first only
        List<GetResponse> pieces = new ArrayList<>();
        blocking().get(GetRequest.newBuilder().setRoot(info.getRoot()).build()).forEachRemaining(pieces::add);
        assertThat(pieces).allSatisfy(p -> assertThat(p.getData().size()).isLessThanOrEqualTo(65536));
        assertThat(pieces.get(0).hasObject()).isTrue();
        assertThat(pieces.get(1).hasObject()).isFalse();
    }

    @Test
    void rangesReadExactlyTheirBytes() throws Exception {
        start();
        byte[] data = randomBytes(700_000, 9);
        String root = put(data, 65536, PutRequest.getDefaultInstance()).getObject().getRoot();

        for (long[] r : new long[][] {{0, 1}, {1, 100}, {65_535, 70_000}, {123_457, 300_001}, {699_999, 1}, {600_000, 0},
                {650_000, 1_000_000}, {700_000, 0}}) {
            byte[] got = get(GetRequest.newBuilder().setRoot(root).setOffset(r[0]).setLength(r[1]).build());
            int to = r[1] == 0 ? data.length : (int) Math.min(data.length, r[0] + r[1]);
            assertThat(got).as("offset %d length %d", r[0], r[1]).isEqualTo(Arrays.copyOfRange(data, (int) r[0], to));
        }
        assertThatThrownBy(() -> get(GetRequest.newBuilder().setRoot(root).setOffset(700_001).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("offset"));
        assertThatThrownBy(() -> get(GetRequest.newBuilder().setRoot(root).setLength(-1).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("length"));
    }

    @Test
    void sharedChunksAreStoredOnceAndTheSameBytesPinOnce() throws Exception {
        start();
        byte[] data = randomBytes(1_000_000, 2);
        PutResponse first = put(data, 4096, PutRequest.getDefaultInstance());
        long files = chunkFiles();

        PutResponse again = put(data, 1000, PutRequest.getDefaultInstance());
        assertThat(again.getAlreadyPinned()).isTrue();
        assertThat(again.getNewChunks()).isZero();
        assertThat(again.getObject().getRoot()).isEqualTo(first.getObject().getRoot());

        // a second version: 100 bytes changed in the middle; content-defined chunks keep the rest
        byte[] edited = data.clone();
        for (int i = 500_000; i < 500_100; i++) {
            edited[i] ^= 0x5a;
        }
        PutResponse second = put(edited, 65536, PutRequest.getDefaultInstance());
        assertThat(second.getObject().getRoot()).isNotEqualTo(first.getObject().getRoot());
        assertThat(second.getNewChunks()).isBetween(1, 3);
        assertThat(second.getNewBytes()).isLessThan(3L * 256 * 1024);
        assertThat(chunkFiles()).isEqualTo(files + second.getNewChunks());
        assertThat(get(second.getObject().getRoot())).isEqualTo(edited);
        assertThat(get(first.getObject().getRoot())).isEqualTo(data);
    }

    @Test
    void contentSurvivesARestart() throws Exception {
        start();
        byte[] data = randomBytes(300_000, 3);
        String root = put(data, 65536, PutRequest.getDefaultInstance()).getObject().getRoot();

        stop();
        start();

        assertThat(get(root)).isEqualTo(data);
        assertThat(blocking().stat(StatRequest.newBuilder().setRoot(root).build()).getObject().getSizeBytes())
                .isEqualTo(data.length);
    }

    @Test
    void emptyContentIsAnObjectOfNoChunks() throws Exception {
        start();

        PutResponse put = put(new byte[0], 1, PutRequest.getDefaultInstance());

        assertThat(put.getObject().getSizeBytes()).isZero();
        assertThat(put.getObject().getChunkCount()).isZero();
        assertThat(put.getObject().getContentSha256()).isEqualTo(Sha256.hexOf(new byte[0]));
        assertThat(get(put.getObject().getRoot())).isEmpty();
    }

    @Test
    void oversizedContentIsRefusedAndNothingIsPinned() throws Exception {
        start();
        byte[] tooBig = randomBytes(2 * 1024 * 1024 + 1, 4);

        assertThatThrownBy(() -> put(tooBig, 256 * 1024, PutRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains("maximum size of 2097152 bytes");
                });
        assertNothingPinned();
    }

    @Test
    void hashMismatchIsRefusedAndNothingIsPinned() throws Exception {
        start();
        String wrong = Sha256.hexOf("something else".getBytes());

        assertThatThrownBy(() -> put(randomBytes(5000, 5), 1000,
                PutRequest.newBuilder().setExpectedSha256(wrong).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(fieldViolations(e)).containsExactly("expected_sha256");
                });
        assertThatThrownBy(() -> put(randomBytes(10, 5), 10,
                PutRequest.newBuilder().setExpectedSha256("XYZ").build()))
                .hasMessageContaining("expected_sha256: must be 64 lowercase hex characters");
        assertThatThrownBy(() -> put(randomBytes(10, 5), 10,
                PutRequest.newBuilder().setMediaType("x".repeat(256)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("media_type"));
        assertNothingPinned();
    }

    @Test
    void unknownRootIsNotFoundAndMalformedRootIsInvalid() throws Exception {
        start();
        String unknown = Sha256.hexOf("never stored".getBytes());

        assertThatThrownBy(() -> blocking().stat(StatRequest.newBuilder().setRoot(unknown).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> get(unknown))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> blocking().delete(DeleteRequest.newBuilder().setRoot(unknown).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> get("../../etc/passwd"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(fieldViolations(e)).containsExactly("root");
                });
        assertThatThrownBy(() -> blocking().hasChunks(HasChunksRequest.newBuilder().addSha256(unknown).addSha256("nope").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("sha256[1]"));
        assertThatThrownBy(() -> blocking().list(ListRequest.newBuilder().setPageSize(1001).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("page_size"));
    }

    @Test
    void corruptChunkOnDiskIsNeverServedAndIsQuarantined() throws Exception {
        start();
        byte[] data = randomBytes(200_000, 6);
        String root = put(data, 65536, PutRequest.getDefaultInstance()).getObject().getRoot();
        String victim = blocking().getManifest(GetManifestRequest.newBuilder().setRoot(root).build()).getChunks(1).getSha256();
        Path file = chunkFile(victim);
        byte[] corrupt = Files.readAllBytes(file);
        corrupt[corrupt.length / 2] ^= 1;
        Files.write(file, corrupt);

        List<GetResponse> received = new ArrayList<>();
        assertThatThrownBy(() -> blocking().get(GetRequest.newBuilder().setRoot(root).build()).forEachRemaining(received::add))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
                    assertThat(e.getStatus().getDescription()).contains(victim).contains("corrupt");
                });
        // what was sent before the failure is verified content from before the corrupt chunk
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        received.forEach(r -> sent.writeBytes(r.getData().toByteArray()));
        int firstChunk = blocking().getManifest(GetManifestRequest.newBuilder().setRoot(root).build()).getChunks(0).getSizeBytes();
        assertThat(sent.size()).isLessThanOrEqualTo(firstChunk);
        assertThat(sent.toByteArray()).isEqualTo(Arrays.copyOf(data, sent.size()));
        assertThat(file).doesNotExist();
        try (var q = Files.list(dataDir.resolve("cas-service/store/quarantine"))) {
            assertThat(q.map(p -> p.getFileName().toString())).singleElement().asString().startsWith(victim);
        }
        // a peer asking for it learns it is missing here
        var answers = new ArrayList<FetchChunksResponse>();
        blocking().fetchChunks(FetchChunksRequest.newBuilder().addSha256(victim).build()).forEachRemaining(answers::add);
        assertThat(answers).singleElement().satisfies(a -> assertThat(a.getMissing()).isTrue());
    }

    @Test
    void deleteUnpinsListPagesAndPeersFetchChunks() throws Exception {
        start();
        List<String> roots = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            roots.add(put(randomBytes(30_000 + i, 20 + i), 65536, PutRequest.getDefaultInstance()).getObject().getRoot());
        }
        List<String> listed = new ArrayList<>();
        String token = "";
        do {
            ListResponse page = blocking().list(ListRequest.newBuilder().setPageSize(2).setPageToken(token).build());
            assertThat(page.getObjectsCount()).isLessThanOrEqualTo(2);
            page.getObjectsList().forEach(o -> listed.add(o.getRoot()));
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        assertThat(listed).containsExactlyElementsOf(roots.stream().sorted().toList());

        var chunk = blocking().getManifest(GetManifestRequest.newBuilder().setRoot(roots.get(0)).build()).getChunks(0);
        String absent = Sha256.hexOf("absent".getBytes());
        assertThat(blocking().hasChunks(HasChunksRequest.newBuilder().addSha256(absent).addSha256(chunk.getSha256()).build())
                .getPresentList()).containsExactly(chunk.getSha256());
        var fetched = new ArrayList<FetchChunksResponse>();
        blocking().fetchChunks(FetchChunksRequest.newBuilder().addSha256(chunk.getSha256()).build()).forEachRemaining(fetched::add);
        assertThat(fetched).singleElement().satisfies(f -> {
            assertThat(Sha256.hexOf(f.getData().toByteArray())).isEqualTo(chunk.getSha256());
            assertThat(f.getSizeBytes()).isEqualTo(chunk.getSizeBytes());
        });

        blocking().delete(DeleteRequest.newBuilder().setRoot(roots.get(2)).build());
        assertThatThrownBy(() -> blocking().stat(StatRequest.newBuilder().setRoot(roots.get(2)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThat(blocking().list(ListRequest.getDefaultInstance()).getObjectsCount()).isEqualTo(4);
    }

    @Test
    void replicationFactorIsCheckedAndRecordedOnACellThatWorksAlone() throws Exception {
        start();
        for (int bad : new int[] {-1, 8}) {
            assertThatThrownBy(() -> put(new byte[10], 10, PutRequest.newBuilder().setReplicationFactor(bad).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(fieldViolations(e)).containsExactly("replication_factor"));
        }
        assertNothingPinned();

        String root = put(randomBytes(100_000, 30), 65536, PutRequest.newBuilder().setReplicationFactor(3).build())
                .getObject().getRoot();
        StatResponse stat = blocking().stat(StatRequest.newBuilder().setRoot(root).build());
        assertThat(stat.getReplicationFactor()).isEqualTo(3);
        assertThat(stat.getReplicasList()).as("no network-service: no copies elsewhere").isEmpty();
        // a pass without a network scrubs, and asks nobody for copies
        Replicator.Pass pass = service.context().getBean(Replicator.class).runPass();
        assertThat(pass.chunksChecked()).isPositive();
        assertThat(pass.missing()).isZero();
        assertThat(pass.copiesRequested()).isZero();
        String other = put(randomBytes(1000, 31), 1000, PutRequest.getDefaultInstance()).getObject().getRoot();
        assertThat(blocking().stat(StatRequest.newBuilder().setRoot(other).build()).getReplicationFactor()).isEqualTo(1);
        assertThat(blocking().stat(StatRequest.newBuilder().setRoot(other).build()).hasErasure()).isFalse();

        // erasure coding: k >= 2, m >= 1, k + m <= 16, and not together with copies
        for (ErasureCoding bad : List.of(ErasureCoding.newBuilder().setDataShards(1).setParityShards(1).build(),
                ErasureCoding.newBuilder().setDataShards(4).setParityShards(0).build(),
                ErasureCoding.newBuilder().setDataShards(12).setParityShards(5).build())) {
            assertThatThrownBy(() -> put(new byte[10], 10, PutRequest.newBuilder().setErasure(bad).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("erasure"));
        }
        ErasureCoding twoPlusOne = ErasureCoding.newBuilder().setDataShards(2).setParityShards(1).build();
        assertThatThrownBy(() -> put(new byte[10], 10, PutRequest.newBuilder().setErasure(twoPlusOne).setReplicationFactor(2).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly("erasure"));
        String coded = put(randomBytes(70_000, 34), 65536, PutRequest.newBuilder().setErasure(twoPlusOne).build()).getObject().getRoot();
        StatResponse codedStat = blocking().stat(StatRequest.newBuilder().setRoot(coded).build());
        assertThat(codedStat.getErasure()).isEqualTo(twoPlusOne);
        assertThat(codedStat.getReplicationFactor()).as("shards instead of copies").isEqualTo(1);
        assertThat(codedStat.getShardsList()).as("no network-service: no shards elsewhere").isEmpty();
    }

    @Test
    void otherCellsRequestsAreAnsweredAndCheckedFieldByField() throws Exception {
        start();
        byte[] data = randomBytes(300_000, 32);
        String root = put(data, 65536, PutRequest.getDefaultInstance()).getObject().getRoot();
        GetManifestResponse manifest = blocking().getManifest(GetManifestRequest.newBuilder().setRoot(root).build());
        PeerProtocol peer = new PeerProtocol(service.context().getBean(ContentService.class), service.context().getBean(ReplicaIndex.class),
                service.context().getBean(ErasureIndex.class), null, null);
        String caller = "c0".repeat(32);
        String absent = Sha256.hexOf("absent".getBytes());
        ChunkRef first = manifest.getChunks(0);

        // which chunks are here
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setHasChunks(HasChunksRequest.newBuilder().addSha256(absent)
                .addSha256(first.getSha256())).build()).getHasChunks().getPresentList()).containsExactly(first.getSha256());
        // a chunk in pieces of 10,000 bytes reassembles to its hash
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        for (int round = 0; round < 100 && chunk.size() < first.getSizeBytes(); round++) {
            PeerChunkPiece piece = peer.handle(caller, PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder()
                    .setSha256(first.getSha256()).setOffset(chunk.size()).setMaxBytes(10_000)).build()).getChunkPiece();
            assertThat(piece.getSizeBytes()).isEqualTo(first.getSizeBytes());
            chunk.writeBytes(piece.getData().toByteArray());
        }
        assertThat(Sha256.hexOf(chunk.toByteArray())).isEqualTo(first.getSha256());
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder().setSha256(absent)
                .setMaxBytes(10)).build()).getChunkPiece().getMissing()).isTrue();
        // the manifest in pages of two references
        List<ChunkRef> refs = new ArrayList<>();
        for (int round = 0; round < 100 && refs.size() < manifest.getChunksCount(); round++) {
            PeerManifestPage page = peer.handle(caller, PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder()
                    .setRoot(root).setFirstChunk(refs.size()).setMaxChunks(2)).build()).getManifestPage();
            assertThat(page.getChunkCount()).isEqualTo(manifest.getChunksCount());
            Manifest.unpack(page.getPackedChunks().toByteArray()).forEach(c -> refs.add(ChunkRef.newBuilder()
                    .setSha256(c.sha256()).setSizeBytes(c.sizeBytes()).build()));
        }
        assertThat(refs).containsExactlyElementsOf(manifest.getChunksList());
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder().setRoot(absent)
                .setMaxChunks(1)).build()).getManifestPage().getMissing()).isTrue();

        // this cell counts on a copy only from a cell it asked to keep one of content it wants in several copies
        String wantedRoot = put(randomBytes(50_000, 33), 65536, PutRequest.newBuilder().setReplicationFactor(2).build())
                .getObject().getRoot();
        service.context().getBean(ReplicaIndex.class).recordCopy(wantedRoot, caller, 0, java.time.Instant.now());
        java.util.function.BiFunction<String, String, Boolean> wanted = (cell, r) -> peer.handle(cell, PeerRequest.newBuilder()
                .setCopyWanted(PeerCopyWanted.newBuilder().setRoot(r)).build()).getReplicaState().getHeld();
        assertThat(wanted.apply(caller, wantedRoot)).isTrue();
        assertThat(wanted.apply("d1".repeat(32), wantedRoot)).as("a cell never asked").isFalse();
        assertThat(wanted.apply(caller, root)).as("content wanted in one copy").isFalse();
        blocking().delete(DeleteRequest.newBuilder().setRoot(wantedRoot).build());
        assertThat(wanted.apply(caller, wantedRoot)).as("content no longer referenced here").isFalse();

        // a copy of content stored here already is kept at once (no chunk to fetch); it holds the content when the
        // pin goes, until the caller releases it
        PeerReplicaState kept = peer.handle(caller, PeerRequest.newBuilder().setReplicate(PeerReplicate.newBuilder()
                .setRoot(root).setSizeBytes(data.length)).build()).getReplicaState();
        assertThat(kept.getHeld()).isTrue();
        assertThat(kept.getChunksMissing()).isZero();
        blocking().delete(DeleteRequest.newBuilder().setRoot(root).build());
        assertThat(get(root)).as("still stored: kept for the caller").isEqualTo(data);
        assertThat(peer.handle("d1".repeat(32), PeerRequest.newBuilder().setReplicaStatus(PeerReplicaStatus.newBuilder()
                .setRoot(root)).build()).getReplicaState().getHeld()).as("not for another cell").isFalse();
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setRelease(PeerRelease.newBuilder().setRoot(root)).build())
                .getReplicaState().getHeld()).isFalse();
        assertThatThrownBy(() -> get(root)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

        // a manifest whose root is right (it names chunk hashes) but whose sizes lie is never used to cut bytes: the
        // read fails (DATA_LOSS) instead of serving a wrong length
        Manifest.ChunkRef real = new Manifest.ChunkRef(first.getSha256(), first.getSizeBytes());
        Manifest lying = Manifest.of("", List.of(new Manifest.ChunkRef(real.sha256(), real.sizeBytes() - 1)));
        service.context().getBean(ReplicaIndex.class).hold(lying, caller, java.time.Instant.now());
        assertThatThrownBy(() -> get(lying.root())).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
            assertThat(e.getStatus().getDescription()).contains("lists chunk " + real.sha256());
        });

        // shards of a chunk stored here are encoded from it, each alone, a large one in pieces: any 2 of 2+1 give it back
        byte[] whole = service.context().getBean(ContentService.class).chunks().read(first.getSha256());
        ReedSolomon rs = new ReedSolomon(2, 1);
        byte[][] shards = new byte[3][];
        for (int i = 0; i < 3; i++) {
            ByteArrayOutputStream shard = new ByteArrayOutputStream();
            for (int round = 0; round < 100 && shard.size() < rs.shardLength(whole.length); round++) {
                PeerShardPieces answer = peer.handle(caller, PeerRequest.newBuilder().setFetchShards(PeerFetchShards.newBuilder()
                        .setDataShards(2).setParityShards(1).setShardIndex(i).addChunkSha256(first.getSha256())
                        .addChunkSha256(absent).setOffset(shard.size()).setMaxBytes(7_000)).build()).getShardPieces();
                PeerShardPiece piece = answer.getPieces(0);
                assertThat(piece.getShardSize()).isEqualTo(rs.shardLength(whole.length));
                assertThat(piece.getOffset()).isEqualTo(shard.size());
                shard.writeBytes(piece.getData().toByteArray());
                if (shard.size() == piece.getShardSize()) {
                    assertThat(answer.getPiecesList()).as("a chunk neither here nor kept: missing").last()
                            .satisfies(p -> assertThat(p.getMissing()).isTrue());
                } else {
                    assertThat(answer.getPiecesCount()).as("only the first shard of an answer is cut").isEqualTo(1);
                }
            }
            shards[i] = shard.toByteArray();
            assertThat(shards[i]).isEqualTo(rs.shard(whole, i));
        }
        shards[0] = null;
        rs.reconstruct(shards);
        assertThat(rs.join(shards, whole.length)).isEqualTo(whole);
        // nobody asked this cell to keep shards: it has none to describe or release, and counts on none
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setShardStatus(PeerShardRef.newBuilder().setRoot(root)
                .setShardIndex(1)).build()).getReplicaState().getHeld()).isFalse();
        assertThat(peer.handle(caller, PeerRequest.newBuilder().setCopyWanted(PeerCopyWanted.newBuilder().setRoot(root)
                .setShardIndex(1)).build()).getReplicaState().getHeld()).isFalse();

        // bad requests name their field
        Map<String, PeerRequest> bad = new LinkedHashMap<>();
        PeerFetchShards okShards = PeerFetchShards.newBuilder().setDataShards(2).setParityShards(1).setShardIndex(2)
                .addChunkSha256(first.getSha256()).setMaxBytes(1000).build();
        bad.put("fetch_shards.data_shards", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder().setDataShards(0)).build());
        bad.put("fetch_shards.shard_index", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder().setShardIndex(3)).build());
        bad.put("fetch_shards.chunk_sha256", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder().clearChunkSha256()).build());
        bad.put("fetch_shards.chunk_sha256[1]", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder()
                .addChunkSha256("nope")).build());
        bad.put("fetch_shards.offset", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder()
                .setOffset(rs.shardLength(whole.length))).build());
        bad.put("fetch_shards.max_bytes", PeerRequest.newBuilder().setFetchShards(okShards.toBuilder().setMaxBytes(0)).build());
        bad.put("keep_shard.root", PeerRequest.newBuilder().setKeepShard(PeerKeepShard.newBuilder().setDataShards(2)
                .setParityShards(1)).build());
        bad.put("keep_shard.shard_index", PeerRequest.newBuilder().setKeepShard(PeerKeepShard.newBuilder().setRoot(absent)
                .setDataShards(2).setParityShards(1).setShardIndex(-1)).build());
        bad.put("keep_shard.size_bytes", PeerRequest.newBuilder().setKeepShard(PeerKeepShard.newBuilder().setRoot(absent)
                .setDataShards(2).setParityShards(1).setSizeBytes(3_000_000)).build());
        bad.put("shard_status.shard_index", PeerRequest.newBuilder().setShardStatus(PeerShardRef.newBuilder().setRoot(root)
                .setShardIndex(16)).build());
        bad.put("release_shard.root", PeerRequest.newBuilder().setReleaseShard(PeerShardRef.newBuilder().setRoot("x")).build());
        bad.put("kind", PeerRequest.getDefaultInstance());
        bad.put("has_chunks.sha256", PeerRequest.newBuilder().setHasChunks(HasChunksRequest.getDefaultInstance()).build());
        bad.put("has_chunks.sha256[1]", PeerRequest.newBuilder().setHasChunks(HasChunksRequest.newBuilder().addSha256(absent)
                .addSha256("ABC")).build());
        bad.put("fetch_chunk.max_bytes", PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder()
                .setSha256(first.getSha256())).build());
        bad.put("fetch_chunk.offset", PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder()
                .setSha256(first.getSha256()).setOffset(first.getSizeBytes()).setMaxBytes(10)).build());
        bad.put("fetch_chunk.sha256", PeerRequest.newBuilder().setFetchChunk(PeerFetchChunk.newBuilder().setSha256("../x")
                .setMaxBytes(10)).build());
        bad.put("fetch_manifest.max_chunks", PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder()
                .setRoot(root).setMaxChunks(20_001)).build());
        bad.put("fetch_manifest.first_chunk", PeerRequest.newBuilder().setFetchManifest(PeerFetchManifest.newBuilder()
                .setRoot(root).setFirstChunk(-1).setMaxChunks(1)).build());
        bad.put("replicate.root", PeerRequest.newBuilder().setReplicate(PeerReplicate.getDefaultInstance()).build());
        bad.put("replicate.size_bytes", PeerRequest.newBuilder().setReplicate(PeerReplicate.newBuilder().setRoot(absent)
                .setSizeBytes(3_000_000)).build());
        bad.put("release.root", PeerRequest.newBuilder().setRelease(PeerRelease.newBuilder().setRoot("x")).build());
        bad.put("copy_wanted.root", PeerRequest.newBuilder().setCopyWanted(PeerCopyWanted.getDefaultInstance()).build());
        bad.forEach((field, request) -> assertThatThrownBy(() -> peer.handle(caller, request)).as(field)
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(fieldViolations(e)).containsExactly(field)));
    }

    private void assertNothingPinned() {
        assertThat(blocking().list(ListRequest.getDefaultInstance()).getObjectsList()).isEmpty();
    }

    private static List<String> fieldViolations(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        assertThat(status).as("google.rpc.Status details").isNotNull();
        List<String> fields = new ArrayList<>();
        for (var any : status.getDetailsList()) {
            if (any.is(BadRequest.class)) {
                try {
                    any.unpack(BadRequest.class).getFieldViolationsList().forEach(v -> fields.add(v.getField()));
                } catch (com.google.protobuf.InvalidProtocolBufferException bad) {
                    throw new AssertionError("undecodable BadRequest detail", bad);
                }
            }
        }
        return fields;
    }
}
