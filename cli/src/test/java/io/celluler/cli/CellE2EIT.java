package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.google.rpc.BadRequest;
import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.celluler.core.cas.ContentUpload;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.GetRequest;
import io.celluler.proto.cas.v1.GetResponse;
import io.celluler.proto.cas.v1.PutRequest;
import io.celluler.proto.cas.v1.PutResponse;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.consensus.v1.ConsensusServiceGrpc;
import io.celluler.proto.consensus.v1.GetStatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A whole cell (nine services, one JVM, the same harness as {@code celluler up}) exercised through its
 * gateway only: gRPC pass-through of every call shape with status and trailers intact, and REST transcoded
 * from the proto annotations.
 */
class CellE2EIT {

    /** Cell index 20: ports 8280, 9301..9308, 8301..8308, 7301 — clear of a developer's own cell 0. */
    static final int CELL_INDEX = 20;
    static final int MAX_BLOB_BYTES = 1024 * 1024;

    @TempDir
    static Path dataDir;

    static Cell cell;
    static ManagedChannel gateway;
    static HttpClient http;
    static final JsonMapper JSON = JsonMapper.builder().build();

    @BeforeAll
    static void startCell() {
        cell = Cell.start(Cell.Options.defaults(dataDir).withCellIndex(CELL_INDEX)
                .withExtraArgs(List.of("--celluler.cas.max-object-size=" + MAX_BLOB_BYTES + "B")));
        gateway = ManagedChannelBuilder.forAddress("127.0.0.1", cell.gatewayPort()).usePlaintext().build();
        // REST clients speak HTTP/1.1 (Java's default would try an h2c upgrade, which buffers the body)
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopCell() throws InterruptedException {
        if (gateway != null) {
            gateway.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (http != null) {
            http.close();
        }
        if (cell != null) {
            cell.close();
        }
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static CasServiceGrpc.CasServiceBlockingStub cas() {
        return CasServiceGrpc.newBlockingStub(gateway).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static PutResponse grpcPut(byte[] data, int pieceSize) throws Exception {
        return ContentUpload.put(gateway, data, pieceSize, PutRequest.getDefaultInstance(), Duration.ofSeconds(30));
    }

    static HttpResponse<byte[]> rest(String method, String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(cell.gatewayUrl() + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonNode json(HttpResponse<byte[]> r) {
        return JSON.readTree(r.body());
    }

    // ---- the cell ----------------------------------------------------------------------------------

    @Test
    void allNineServicesAreHealthy() {
        assertThat(cell.health()).hasSize(9).allSatisfy((name, status) -> assertThat(status).as(name).isEqualTo("UP"));
    }

    @Test
    void theCellsIdentityOverRest() throws Exception {
        HttpResponse<byte[]> r = rest("GET", "/v1/network/cell", null);

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode cell = json(r);
        byte[] publicKey = java.util.Base64.getDecoder().decode(cell.path("publicKey").asString());
        assertThat(cell.path("cellId").asString()).isEqualTo(io.celluler.core.identity.CellIdentity.cellIdOf(publicKey));
        assertThat(cell.path("capabilities").size()).isGreaterThanOrEqualTo(8);

        // the network API over REST: a cell alone has no peers, stats answer, bad input is a 400 naming the field
        HttpResponse<byte[]> peers = rest("GET", "/v1/network/peers", null);
        HttpResponse<byte[]> stats = rest("GET", "/v1/network/stats", null);
        HttpResponse<byte[]> badSend = rest("POST", "/v1/network/messages:send",
                "{\"destinationCellId\": \"nope\", \"topic\": \"t\"}".getBytes(), "content-type", "application/json");
        assertThat(peers.statusCode()).isEqualTo(200);
        assertThat(json(peers).path("peers").size()).isZero();
        assertThat(stats.statusCode()).isEqualTo(200);
        assertThat(badSend.statusCode()).isEqualTo(400);
        assertThat(new String(badSend.body())).contains("destination_cell_id");
    }

    @Test
    void everyServiceServesGrpcHealthReflectionAndPrometheus() throws Exception {
        for (CellService s : CellService.ALL) {
            if (s.isGateway()) {
                continue;
            }
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort(CELL_INDEX))
                    .usePlaintext().build();
            try {
                var health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.getDefaultInstance());
                assertThat(health.getStatus()).as(s.name()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
                assertThat(reflectedServices(channel)).as(s.name())
                        .contains("grpc.health.v1.Health")
                        .anyMatch(name -> name.startsWith("celluler." + s.name().replace("-service", "") + ".v1."));
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            HttpResponse<byte[]> prometheus = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + s.httpPort(CELL_INDEX) + "/actuator/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(prometheus.statusCode()).as(s.name()).isEqualTo(200);
            assertThat(new String(prometheus.body())).as(s.name()).contains("jvm_memory_used_bytes");
        }
    }

    static List<String> reflectedServices(ManagedChannel channel) throws Exception {
        CompletableFuture<List<String>> names = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        names.complete(r.getListServicesResponse().getServiceList().stream()
                                .map(ServiceResponse::getName).toList());
                    }

                    @Override
                    public void onError(Throwable t) {
                        names.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        try {
            return names.get(10, TimeUnit.SECONDS);
        } finally {
            requests.onCompleted();
        }
    }

    // ---- gRPC through the gateway ------------------------------------------------------------------

    @Test
    void grpcClientStreamThenServerStreamThenUnaryThroughTheGateway() throws Exception {
        byte[] data = randomBytes(700_000, 1);

        PutResponse put = grpcPut(data, 50_000);
        String root = put.getObject().getRoot();
        List<GetResponse> pieces = new ArrayList<>();
        cas().get(GetRequest.newBuilder().setRoot(root).build()).forEachRemaining(pieces::add);
        var stat = cas().stat(StatRequest.newBuilder().setRoot(root).build());

        assertThat(put.getObject().getContentSha256()).isEqualTo(Sha256.hexOf(data));
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        pieces.forEach(p -> got.writeBytes(p.getData().toByteArray()));
        assertThat(got.toByteArray()).isEqualTo(data);
        assertThat(pieces).as("server stream of messages of at most 256 KiB")
                .allSatisfy(p -> assertThat(p.getData().size()).isLessThanOrEqualTo(256 * 1024));
        assertThat(stat.getObject().getSizeBytes()).isEqualTo(data.length);
    }

    @Test
    void grpcErrorStatusMessageAndDetailsPassThroughTheGateway() {
        String unknown = Sha256.hexOf("never stored".getBytes());

        assertThatThrownBy(() -> cas().stat(StatRequest.newBuilder().setRoot(unknown).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("no content " + unknown + " is pinned on this cell");
                });
        // the error of a server stream, and the google.rpc.Status details carried in the trailers
        assertThatThrownBy(() -> cas().get(GetRequest.newBuilder().setRoot("not-a-hash").build()).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    com.google.rpc.Status details = StatusProto.fromThrowable(e);
                    assertThat(details).isNotNull();
                    assertThat(details.getDetails(0).is(BadRequest.class)).isTrue();
                });
    }

    @Test
    void grpcOversizedClientStreamIsResourceExhausted() {
        assertThatThrownBy(() -> grpcPut(randomBytes(MAX_BLOB_BYTES + 1, 2), 64 * 1024))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }

    @Test
    void unbuiltServiceAnswersUnimplementedNamingItsIssueThroughTheGateway() throws Exception {
        assertThatThrownBy(() -> io.celluler.proto.model.v1.ModelServiceGrpc.newBlockingStub(gateway)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .listModels(io.celluler.proto.model.v1.ListModelsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
                    assertThat(e.getStatus().getDescription())
                            .contains("celluler.model.v1.ModelService/ListModels")
                            .contains("model-service issue");
                });

        JsonNode doc = json(rest("GET", "/v3/api-docs", null));
        String listPath = findPath(doc, "ModelService_ListModels");
        HttpResponse<byte[]> viaRest = rest("GET", listPath, null);
        assertThat(viaRest.statusCode()).isEqualTo(501);
        assertThat(json(viaRest).path("message").asString()).contains("model-service issue");
    }

    @Test
    void catalogAnswersThroughTheGatewayOverRest() throws Exception {
        HttpResponse<byte[]> created = rest("POST", "/v1/catalog/entries", ("{\"type\":\"ENTRY_TYPE_IMAGE\","
                + "\"name\":\"e2e-nginx\",\"version\":\"1.27\",\"sizeBytes\":\"4096\",\"labels\":{\"env\":\"e2e\"},"
                + "\"image\":{\"platform\":\"linux/amd64\"}}").getBytes(), "content-type", "application/json");
        assertThat(created.statusCode()).as(new String(created.body())).isEqualTo(200);
        String id = json(created).path("entry").path("entryId").asString();
        assertThat(json(created).path("entry").path("status").asString()).isEqualTo("ENTRY_STATUS_PENDING");

        HttpResponse<byte[]> listed = rest("GET", "/v1/catalog/entries?labelSelector=env%3De2e&type=ENTRY_TYPE_IMAGE",
                null);
        assertThat(listed.statusCode()).as(new String(listed.body())).isEqualTo(200);
        assertThat(json(listed).path("entries").get(0).path("entryId").asString()).isEqualTo(id);
        assertThat(json(listed).path("entries").get(0).path("image").path("platform").asString())
                .isEqualTo("linux/amd64");

        HttpResponse<byte[]> labelled = rest("POST", "/v1/catalog/entries/" + id + ":updateLabels",
                "{\"setLabels\":{\"tier\":\"gold\"}}".getBytes(), "content-type", "application/json");
        assertThat(labelled.statusCode()).as(new String(labelled.body())).isEqualTo(200);
        assertThat(json(labelled).path("entry").path("labels").path("tier").asString()).isEqualTo("gold");

        HttpResponse<byte[]> badSelector = rest("GET", "/v1/catalog/entries?labelSelector=env%20in%20prod", null);
        assertThat(badSelector.statusCode()).isEqualTo(400);
        assertThat(new String(badSelector.body())).contains("label_selector");
        assertThat(rest("GET", "/v1/catalog/entries/" + "0".repeat(32), null).statusCode()).isEqualTo(404);

        // the watch stream from the start of this test's changes, as newline-delimited JSON
        HttpResponse<java.io.InputStream> watch = http.send(HttpRequest.newBuilder(URI.create(cell.gatewayUrl()
                + "/v1/catalog/entries:watch?labelSelector=env%3De2e&cursor=0")).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(watch.statusCode()).isEqualTo(200);
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(watch.body()))) {
            JsonNode first = JSON.readTree(lines.readLine());
            assertThat(first.path("changeType").asString()).isEqualTo("CHANGE_TYPE_CREATED");
            assertThat(first.path("entry").path("entryId").asString()).isEqualTo(id);
            JsonNode second = JSON.readTree(lines.readLine());
            assertThat(second.path("changeType").asString()).isEqualTo("CHANGE_TYPE_UPDATED");
        }

        assertThat(rest("DELETE", "/v1/catalog/entries/" + id, null).statusCode()).isEqualTo(200);
        assertThat(rest("GET", "/v1/catalog/entries/" + id, null).statusCode()).isEqualTo(404);
    }

    @Test
    void feedsAnswerThroughTheGatewayOverRest() throws Exception {
        // create, append (bytes as base64), read back as a newline-delimited JSON stream, the key-value view
        HttpResponse<byte[]> created = rest("POST", "/v1/feeds", "{\"name\":\"e2e-log\"}".getBytes(), "content-type",
                "application/json");
        assertThat(created.statusCode()).as(new String(created.body())).isEqualTo(200);
        String key = json(created).path("feed").path("feedKey").asString();
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        HttpResponse<byte[]> appended = rest("POST", "/v1/feeds/" + key + "/entries", ("{\"entries\":[\"" + b64.encodeToString(
                "one".getBytes()) + "\",\"" + b64.encodeToString("two".getBytes()) + "\"]}").getBytes(), "content-type", "application/json");
        assertThat(appended.statusCode()).as(new String(appended.body())).isEqualTo(200);
        assertThat(json(appended).path("length").asString()).isEqualTo("2");
        HttpResponse<byte[]> entries = rest("GET", "/v1/feeds/" + key + "/entries", null);
        assertThat(entries.statusCode()).isEqualTo(200);
        List<String> lines = new String(entries.body()).lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(JSON.readTree(lines.get(1)).path("entry").path("data").asString()).isEqualTo(b64.encodeToString("two".getBytes()));
        HttpResponse<byte[]> proof = rest("GET", "/v1/feeds/" + key + "/entries/1:proof", null);
        assertThat(proof.statusCode()).isEqualTo(200);
        assertThat(json(proof).path("proof").path("signedRoot").path("length").asString()).isEqualTo("2");
        // the live tail over REST: the stored entries come at once, the stream stays open for more
        HttpResponse<java.io.InputStream> tail = http.send(HttpRequest.newBuilder(URI.create(cell.gatewayUrl() + "/v1/feeds/" + key
                + ":subscribe?fromIndex=1")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofInputStream());
        try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(tail.body()))) {
            assertThat(tail.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(r.readLine()).path("entry").path("index").asString()).isEqualTo("1");
        }
        // bad input is a 4xx naming the field; following needs a network (this cell's data-service has one)
        HttpResponse<byte[]> badKey = rest("GET", "/v1/feeds/xyz", null);
        assertThat(badKey.statusCode()).isEqualTo(400);
        assertThat(json(badKey).path("message").asString()).contains("feed_key");
        assertThat(rest("GET", "/v1/feeds/" + "ab".repeat(32), null).statusCode()).isEqualTo(404);
        HttpResponse<byte[]> kv = rest("POST", "/v1/feeds", "{\"name\":\"e2e-kv\",\"type\":\"FEED_TYPE_KEY_VALUE\"}".getBytes(),
                "content-type", "application/json");
        String kvKey = json(kv).path("feed").path("feedKey").asString();
        assertThat(rest("POST", "/v1/feeds/" + kvKey + "/kv:put", ("{\"key\":\"a/b\",\"value\":\"" + b64.encodeToString("v".getBytes())
                + "\"}").getBytes(), "content-type", "application/json").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> got = rest("GET", "/v1/feeds/" + kvKey + "/kv:get?key=a%2Fb", null);
        assertThat(got.statusCode()).as(new String(got.body())).isEqualTo(200);
        assertThat(json(got).path("entry").path("value").asString()).isEqualTo(b64.encodeToString("v".getBytes()));
    }

    @Test
    void consensusAnswersThroughTheGatewayOverGrpcAndRest() throws Exception {
        // the cell is a one-validator chain: a transaction sent through the gateway commits
        org.awaitility.Awaitility.await("consensus-service ready").atMost(java.time.Duration.ofSeconds(60))
                .ignoreExceptions().until(() -> ConsensusServiceGrpc.newBlockingStub(gateway)
                        .withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(GetStatusRequest.getDefaultInstance()).getValidator());
        var committed = ConsensusServiceGrpc.newBlockingStub(gateway).withDeadlineAfter(30, TimeUnit.SECONDS)
                .submitTransaction(io.celluler.proto.consensus.v1.SubmitTransactionRequest.newBuilder()
                        .setTransaction(io.celluler.proto.consensus.v1.Transaction.newBuilder()
                                .setPayloadType("celluler.test.v1.Note").setPayload(com.google.protobuf.ByteString.copyFromUtf8("e2e")))
                        .setWaitForCommit(true).build());
        assertThat(committed.getHeight()).isPositive();
        HttpResponse<byte[]> status = rest("GET", "/v1/consensus/status", null);
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(Long.parseLong(json(status).path("committedHeight").asString())).isGreaterThanOrEqualTo(committed.getHeight());
        HttpResponse<byte[]> tx = rest("GET", "/v1/consensus/transactions/" + committed.getTxId(), null);
        assertThat(tx.statusCode()).isEqualTo(200);
        assertThat(json(tx).path("status").asString()).isEqualTo("TRANSACTION_STATUS_COMMITTED");
        assertThat(rest("GET", "/v1/consensus/blocks/0", null).statusCode()).isEqualTo(400);

        // submitted over REST (JSON, bytes as base64), then its block's finality proof and the validator set
        String payload = java.util.Base64.getEncoder().encodeToString("e2e over REST".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        HttpResponse<byte[]> submitted = rest("POST", "/v1/consensus/transactions", ("{\"transaction\":{\"payloadType\":"
                + "\"celluler.test.v1.Note\",\"payload\":\"" + payload + "\"},\"waitForCommit\":true}").getBytes(),
                "content-type", "application/json");
        assertThat(submitted.statusCode()).as(new String(submitted.body())).isEqualTo(200);
        long height = Long.parseLong(json(submitted).path("height").asString());
        assertThat(height).isPositive();
        HttpResponse<byte[]> proof = rest("GET", "/v1/consensus/blocks/" + height + ":proof", null);
        assertThat(proof.statusCode()).isEqualTo(200);
        assertThat(Long.parseLong(json(proof).path("proof").path("header").path("height").asString())).isEqualTo(height);
        HttpResponse<byte[]> validators = rest("GET", "/v1/consensus/validators", null);
        assertThat(validators.statusCode()).isEqualTo(200);
        assertThat(json(validators).toString()).contains(json(status).path("cellId").asString());

        HttpResponse<byte[]> noPayloadType = rest("POST", "/v1/consensus/transactions",
                "{\"transaction\":{\"payload\":\"AA==\"}}".getBytes(), "content-type", "application/json");
        assertThat(noPayloadType.statusCode()).isEqualTo(400);
        assertThat(json(noPayloadType).path("message").asString()).contains("payload_type");
    }

    @Test
    void aServiceThatIsDownIsUnavailableThroughTheGateway() throws Exception {
        // metrics-service is used by no other test of this class
        Cell.Running metrics = cell.services().stream()
                .filter(r -> r.service().name().equals("metrics-service")).findFirst().orElseThrow();
        String path = findPath(json(rest("GET", "/v3/api-docs", null)), "MetricsService_GetClusterHealth");
        metrics.context().close();

        HttpResponse<byte[]> viaRest = rest("GET", path, null);

        assertThat(viaRest.statusCode()).isEqualTo(503);
        assertThat(json(viaRest).path("code").asInt()).isEqualTo(Status.Code.UNAVAILABLE.value());
        assertThatThrownBy(() -> io.celluler.proto.metrics.v1.MetricsServiceGrpc.newBlockingStub(gateway)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .getClusterHealth(io.celluler.proto.metrics.v1.GetClusterHealthRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).startsWith("cannot reach 127.0.0.1:" + (9108 + CellService.offset(CELL_INDEX)));
                });
    }

    static String findPath(JsonNode doc, String operationId) {
        for (var path : doc.path("paths").properties()) {
            for (var op : path.getValue().properties()) {
                if (operationId.equals(op.getValue().path("operationId").asString())) {
                    return path.getKey();
                }
            }
        }
        throw new AssertionError("no operation " + operationId + " in the OpenAPI document");
    }

    // ---- REST through the transcoder ---------------------------------------------------------------

    @Test
    void restPutThenGetContent() throws Exception {
        byte[] data = randomBytes(300_000, 3);
        String sha = Sha256.hexOf(data);

        HttpResponse<byte[]> put = rest("PUT", "/v1/objects?expected_sha256=" + sha + "&media_type=image/png", data,
                "content-type", "application/octet-stream");
        String root = json(put).path("object").path("root").asString();
        HttpResponse<byte[]> get = rest("GET", "/v1/objects/" + root, null);
        HttpResponse<byte[]> stat = rest("GET", "/v1/objects/" + root + ":stat", null);

        assertThat(put.statusCode()).isEqualTo(200);
        assertThat(json(put).path("object").path("contentSha256").asString()).isEqualTo(sha);
        assertThat(json(put).path("object").path("sizeBytes").asString()).isEqualTo("300000");
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.headers().firstValue("content-type")).hasValue("application/octet-stream");
        assertThat(get.body()).isEqualTo(data);
        assertThat(stat.statusCode()).isEqualTo(200);
        assertThat(json(stat).path("object").path("mediaType").asString()).isEqualTo("image/png");
    }

    @Test
    void restServerStreamAsNewlineDelimitedJson() throws Exception {
        byte[] data = randomBytes(600_000, 4);
        String root = grpcPut(data, 100_000).getObject().getRoot();

        HttpResponse<byte[]> r = rest("GET", "/v1/objects/" + root, null, "accept", "application/x-ndjson");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/x-ndjson");
        String[] lines = new String(r.body()).split("\n");
        assertThat(lines.length).as("one line per message: chunks of ~64 KiB, at most 256 KiB each").isGreaterThan(2);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (String line : lines) {
            got.writeBytes(java.util.Base64.getDecoder().decode(JSON.readTree(line).path("data").asString()));
        }
        assertThat(got.toByteArray()).isEqualTo(data);
        assertThat(JSON.readTree(lines[0]).path("object").path("root").asString()).isEqualTo(root);
    }

    @Test
    void restErrorsAreMappedAndNameTheProblem() throws Exception {
        String unknown = Sha256.hexOf("nothing".getBytes());

        HttpResponse<byte[]> notFound = rest("GET", "/v1/objects/" + unknown, null);
        HttpResponse<byte[]> badHash = rest("GET", "/v1/objects/XYZ:stat", null);
        HttpResponse<byte[]> badExpected = rest("PUT", "/v1/objects?expected_sha256=XYZ", new byte[] {1});
        HttpResponse<byte[]> tooBig = rest("PUT", "/v1/objects", randomBytes(MAX_BLOB_BYTES + 1, 5));
        HttpResponse<byte[]> unknownParam = rest("GET", "/v1/objects/" + unknown + ":stat?colour=red", null);
        HttpResponse<byte[]> noRoute = rest("GET", "/v1/no/such/route", null);
        HttpResponse<byte[]> noRouteOutsideApi = rest("GET", "/nothing-here", null);
        HttpResponse<byte[]> wrongMethod = rest("POST", "/v1/objects/" + unknown, new byte[0]);
        HttpResponse<byte[]> valuelessParam = rest("PUT", "/v1/objects?media_type", new byte[] {1});
        HttpResponse<byte[]> badAccept = rest("GET", "/v1/objects/" + unknown, null, "accept", "not a media type");

        assertThat(notFound.statusCode()).isEqualTo(404);
        assertThat(json(notFound).path("code").asInt()).isEqualTo(5);
        assertThat(json(notFound).path("message").asString()).contains(unknown);
        assertThat(badHash.statusCode()).isEqualTo(400);
        assertThat(json(badHash).path("details").get(0).path("fieldViolations").get(0).path("field").asString())
                .isEqualTo("root");
        assertThat(badExpected.statusCode()).isEqualTo(400);
        assertThat(json(badExpected).path("message").asString()).startsWith("expected_sha256: must be 64 lowercase hex");
        assertThat(tooBig.statusCode()).isEqualTo(413);
        // a refused upload closes its connection: it is not reused with an unread body in it
        assertThat(tooBig.headers().firstValue("connection")).hasValue("close");
        assertThat(unknownParam.statusCode()).isEqualTo(400);
        assertThat(json(unknownParam).path("message").asString()).contains("unknown query parameter 'colour'");
        assertThat(noRoute.statusCode()).isEqualTo(404);
        assertThat(noRouteOutsideApi.statusCode()).isEqualTo(404);
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.headers().firstValue("allow")).hasValueSatisfying(v -> assertThat(v).contains("GET"));
        assertThat(valuelessParam.statusCode()).isEqualTo(400);
        assertThat(json(valuelessParam).path("message").asString()).contains("'media_type' needs a value");
        assertThat(badAccept.statusCode()).isEqualTo(404);
    }

    @Test
    void malformedJsonIsRejectedAtTheGatewayNamingTheProblem() throws Exception {
        JsonNode doc = json(rest("GET", "/v3/api-docs", null));
        // any RPC whose REST body is the JSON request message
        String path = null;
        String method = null;
        for (var p : doc.path("paths").properties()) {
            for (var op : p.getValue().properties()) {
                if (op.getValue().path("requestBody").path("content").has("application/json")
                        && !p.getKey().contains("{")) {
                    path = p.getKey();
                    method = op.getKey().toUpperCase();
                }
            }
        }
        assertThat(path).as("an RPC with a JSON body").isNotNull();

        HttpResponse<byte[]> syntax = rest(method, path, "{\"name\": ".getBytes(), "content-type", "application/json");
        HttpResponse<byte[]> unknownField = rest(method, path, "{\"noSuchField\": 1}".getBytes(),
                "content-type", "application/json");

        assertThat(syntax.statusCode()).isEqualTo(400);
        assertThat(json(syntax).path("message").asString()).startsWith("invalid JSON body");
        assertThat(unknownField.statusCode()).isEqualTo(400);
        assertThat(json(unknownField).path("message").asString()).contains("noSuchField");

        byte[] huge = new byte[5 * 1024 * 1024]; // above celluler.gateway.max-json-body-size (4 MB)
        java.util.Arrays.fill(huge, (byte) ' ');
        huge[0] = '{';
        huge[huge.length - 1] = '}';
        HttpResponse<byte[]> tooLarge = rest(method, path, huge, "content-type", "application/json");
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        // refused before the whole body was read: the connection is not reused
        assertThat(tooLarge.headers().firstValue("connection")).hasValue("close");
        assertThat(json(tooLarge).path("message").asString()).contains("celluler.gateway.max-json-body-size");
    }

    @Test
    void swaggerUiPageAndItsScriptsAreServed() throws Exception {
        HttpResponse<byte[]> page = rest("GET", "/swagger-ui.html", null);
        String html = new String(page.body());
        java.util.regex.Matcher script = java.util.regex.Pattern.compile("src=\"([^\"]+swagger-ui-bundle\\.js)\"").matcher(html);

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(html).contains("/v3/api-docs");
        assertThat(script.find()).isTrue();
        HttpResponse<byte[]> bundle = rest("GET", script.group(1), null);
        assertThat(bundle.statusCode()).isEqualTo(200);
        assertThat(bundle.body().length).isGreaterThan(100_000);
    }

    @Test
    void openApiDocumentListsTheAnnotatedRpcs() throws Exception {
        HttpResponse<byte[]> r = rest("GET", "/v3/api-docs", null);

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode doc = json(r);
        assertThat(doc.path("openapi").asString()).isEqualTo("3.0.3");
        assertThat(doc.path("paths").path("/v1/objects").path("put").path("operationId").asString())
                .isEqualTo("CasService_Put");
        assertThat(doc.path("paths").path("/v1/objects/{root}").path("get").path("operationId").asString())
                .isEqualTo("CasService_Get");
        assertThat(doc.path("paths").path("/v1/objects/{root}:stat").path("get").path("summary").asString())
                .isEqualTo("Information on pinned content.");
        assertThat(doc.path("components").path("schemas").has("celluler.cas.v1.ObjectInfo")).isTrue();
        List<String> tags = new ArrayList<>();
        doc.path("paths").forEach(p -> p.forEach(op -> tags.add(op.path("tags").get(0).asString())));
        assertThat(tags).contains("celluler.cas.v1.CasService", "celluler.consensus.v1.ConsensusService",
                "celluler.data.v1.FeedService", "celluler.catalog.v1.CatalogService", "celluler.model.v1.ModelService",
                "celluler.state.v1.StateService", "celluler.network.v1.NetworkService",
                "celluler.metrics.v1.MetricsService");
    }
}
