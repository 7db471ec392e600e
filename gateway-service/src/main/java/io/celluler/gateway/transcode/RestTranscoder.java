package io.celluler.gateway.transcode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import io.celluler.gateway.config.GatewayProperties;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.protobuf.StatusProto;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * REST/JSON ↔ gRPC, driven by the {@code google.api.http} annotations of the contracts (no per-API code).
 *
 * <ul>
 *   <li>The request message is built from the JSON body ({@code body: "*"} or one field), then the path
 *       variables, then the query parameters (top-level fields; repeated fields take repeated parameters).
 *       A body bound to a {@code bytes} field is the raw HTTP body; for a client-streaming RPC it streams to
 *       the service in order, with the path and query fields in the first message.</li>
 *   <li>A unary answer is the JSON of the response message; a server stream is newline-delimited JSON, one
 *       message a line (an error after the first message is a last line {@code {"error": {...}}}); a
 *       {@code response_body} naming a {@code bytes} field makes the body the raw concatenated bytes, unless
 *       the client asks for {@code Accept: application/x-ndjson}.</li>
 *   <li>Errors are the JSON of {@code google.rpc.Status} with its details, under the HTTP status of
 *       {@link HttpStatusMapping}. Client mistakes (malformed JSON, unknown fields, bad path or query values)
 *       are 400 naming the problem and never reach the service.</li>
 * </ul>
 */
@Component
public class RestTranscoder {

    private static final Logger log = LoggerFactory.getLogger(RestTranscoder.class);
    static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson");
    /** How long a server stream's HTTP status waits for its first message or its failure. */
    static final java.time.Duration FIRST_MESSAGE_WAIT = java.time.Duration.ofSeconds(1);
    /** While an upload waits for the gRPC call to take more, how often readiness is re-checked. */
    static final long READY_RECHECK_MILLIS = 5;
    /** Messages of a server stream requested from the service ahead of the HTTP writer. */
    static final int STREAM_PREFETCH = 2;
    /** Metadata forwarded from HTTP headers to the service. */
    private static final List<String> FORWARDED_HEADERS = List.of("x-request-id", "traceparent", "tracestate");

    private final List<HttpRoute> routes = new ArrayList<>();
    private final Map<MethodDescriptor, io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage>> grpcMethods =
            new java.util.HashMap<>();
    private final BackendChannels channels;
    private final GatewayProperties properties;
    private final JsonFormat.Parser parser;
    private final JsonFormat.Printer printer;
    private final JsonFormat.Printer compactPrinter;

    public RestTranscoder(ApiDescriptors api, BackendChannels channels, GatewayProperties properties) {
        this.channels = channels;
        this.properties = properties;
        this.parser = JsonFormat.parser().usingTypeRegistry(api.typeRegistry());
        this.printer = JsonFormat.printer().usingTypeRegistry(api.typeRegistry());
        this.compactPrinter = printer.omittingInsignificantWhitespace();
        for (var service : api.celluleServices()) {
            String backend = properties.backendFor(service.getFile().getPackage());
            for (MethodDescriptor m : service.getMethods()) {
                HttpRoute route = backend == null ? null : HttpRoute.of(m, backend);
                if (route != null) {
                    routes.add(route);
                    grpcMethods.put(m, grpcMethod(m));
                }
            }
        }
        log.info("REST transcoder: {} routes", routes.size());
    }

    public List<HttpRoute> routes() {
        return List.copyOf(routes);
    }

    private static io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage> grpcMethod(MethodDescriptor m) {
        io.grpc.MethodDescriptor.MethodType type = m.isClientStreaming()
                ? (m.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING
                        : io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING)
                : (m.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING
                        : io.grpc.MethodDescriptor.MethodType.UNARY);
        return io.grpc.MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                .setType(type)
                .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(
                        m.getService().getFullName(), m.getName()))
                .setRequestMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(m.getInputType())))
                .setResponseMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(m.getOutputType())))
                .build();
    }

    /** Handles one REST request under {@code /v1/}. */
    public Mono<ServerResponse> handle(ServerRequest request) {
        String path = request.requestPath().pathWithinApplication().value();
        String method = request.method().name();
        HttpRoute chosen = null;
        Map<String, String> vars = null;
        Set<String> allowed = new LinkedHashSet<>();
        for (HttpRoute route : routes) {
            Map<String, String> m = route.match(path);
            if (m == null) {
                continue;
            }
            if (route.httpMethod().equals(method)) {
                chosen = route;
                vars = m;
                break;
            }
            allowed.add(route.httpMethod());
        }
        if (chosen == null) {
            if (!allowed.isEmpty()) {
                return error(HttpStatus.METHOD_NOT_ALLOWED, statusJson(Code.INVALID_ARGUMENT,
                        method + " is not allowed on " + path + "; allowed: " + String.join(", ", allowed), null),
                        headers -> headers.set(HttpHeaders.ALLOW, String.join(", ", allowed)));
            }
            return error(HttpStatus.NOT_FOUND, statusJson(Code.NOT_FOUND, "no API route for " + method + " " + path, null),
                    h -> { });
        }
        HttpRoute route = chosen;
        DynamicMessage.Builder first;
        try {
            first = DynamicMessage.newBuilder(route.method().getInputType());
            bindPath(first, vars);
            bindQuery(first, route, request);
        } catch (BadInput e) {
            return badRequest(e);
        }
        if (route.method().isClientStreaming()) {
            if (route.rawBodyField() == null) {
                return error(HttpStatus.NOT_IMPLEMENTED, statusJson(Code.UNIMPLEMENTED,
                        route.method().getFullName() + " is a client stream: call it over gRPC", null), h -> { });
            }
            return Mono.defer(() -> clientStream(route, first, request));
        }
        if (route.body().isEmpty()) {
            return call(route, first.build(), request);
        }
        long limit = properties.maxJsonBodySize().toBytes();
        return request.body(org.springframework.web.reactive.function.BodyExtractors.toDataBuffers())
                .reduce(new JsonBody(limit), JsonBody::add)
                .defaultIfEmpty(new JsonBody(limit))
                .flatMap(body -> {
                    if (body.tooLarge()) {
                        // the body was read to its end (so the close is clean), its excess thrown away
                        return error(HttpStatus.PAYLOAD_TOO_LARGE, statusJson(Code.RESOURCE_EXHAUSTED,
                                "request body exceeds " + limit + " bytes (celluler.gateway.max-json-body-size)", "body"),
                                h -> h.set(HttpHeaders.CONNECTION, "close"));
                    }
                    try {
                        DynamicMessage.Builder message = DynamicMessage.newBuilder(route.method().getInputType());
                        bindBody(message, route, body.bytes());
                        // path and query fields win over the body (google.api.http semantics)
                        message.mergeFrom(first.build());
                        return call(route, message.build(), request);
                    } catch (BadInput e) {
                        return badRequest(e);
                    }
                })
                .onErrorResume(DataBufferLimitException.class, e -> error(HttpStatus.PAYLOAD_TOO_LARGE,
                        statusJson(Code.RESOURCE_EXHAUSTED, e.getMessage(), "body"),
                        h -> h.set(HttpHeaders.CONNECTION, "close")));
    }

    /**
     * A JSON request body read whole up to the limit. Past the limit the rest is still read, and dropped, up to
     * 16 times the limit — so that the 413 reaches the client instead of a reset connection — and beyond that
     * the request is cut off.
     */
    static final class JsonBody {
        private final long limit;
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private long total;

        JsonBody(long limit) {
            this.limit = limit;
        }

        JsonBody add(DataBuffer buffer) {
            try {
                int n = buffer.readableByteCount();
                total += n;
                if (total > 16 * limit) {
                    throw new DataBufferLimitException("request body exceeds " + 16 * limit + " bytes: not read further");
                }
                if (total <= limit) {
                    byte[] chunk = new byte[n];
                    buffer.read(chunk);
                    bytes.writeBytes(chunk);
                }
                return this;
            } finally {
                DataBufferUtils.release(buffer);
            }
        }

        boolean tooLarge() {
            return total > limit;
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }

    // ---- building the request message --------------------------------------------------------------

    /** A client mistake in the HTTP request, answered 400 naming the field. */
    static final class BadInput extends Exception {
        final String field;

        BadInput(String field, String message) {
            super(message);
            this.field = field;
        }
    }

    private void bindBody(DynamicMessage.Builder message, HttpRoute route, byte[] bytes) throws BadInput {
        FieldDescriptor raw = route.rawBodyField();
        if (raw != null) {
            message.setField(raw, ByteString.copyFrom(bytes));
            return;
        }
        String json = new String(bytes, StandardCharsets.UTF_8);
        if (json.isBlank()) {
            json = "{}";
        }
        try {
            if (route.body().equals("*")) {
                parser.merge(json, message);
            } else {
                FieldDescriptor f = route.method().getInputType().findFieldByName(route.body());
                if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !f.isRepeated()) {
                    Message.Builder sub = message.newBuilderForField(f);
                    parser.merge(json, sub);
                    message.setField(f, sub.build());
                } else {
                    // a scalar or repeated body: parse it as that field of the request
                    DynamicMessage.Builder wrapper = DynamicMessage.newBuilder(route.method().getInputType());
                    parser.merge("{\"" + f.getJsonName() + "\":" + json + "}", wrapper);
                    message.setField(f, wrapper.getField(f));
                }
            }
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new BadInput("body", "invalid JSON body for " + route.method().getInputType().getFullName() + ": "
                    + e.getMessage());
        }
    }

    private static void bindPath(DynamicMessage.Builder message, Map<String, String> vars) throws BadInput {
        for (var e : vars.entrySet()) {
            FieldDescriptor f = message.getDescriptorForType().findFieldByName(e.getKey());
            message.setField(f, scalar(f, e.getValue()));
        }
    }

    private static void bindQuery(DynamicMessage.Builder message, HttpRoute route, ServerRequest request)
            throws BadInput {
        for (var e : request.queryParams().entrySet()) {
            String name = e.getKey();
            FieldDescriptor f = message.getDescriptorForType().findFieldByName(name);
            if (f == null) {
                f = message.getDescriptorForType().getFields().stream()
                        .filter(x -> x.getJsonName().equals(name)).findFirst().orElse(null);
            }
            if (f == null) {
                throw new BadInput(name, "unknown query parameter '" + name + "' for "
                        + message.getDescriptorForType().getFullName());
            }
            if (route.pathFields().contains(f.getName())) {
                throw new BadInput(name, "'" + name + "' is already bound by the path");
            }
            if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                throw new BadInput(name, "'" + name + "' is a message field: send it in the JSON body");
            }
            if (f.isRepeated()) {
                for (String v : e.getValue()) {
                    message.addRepeatedField(f, scalar(f, v));
                }
            } else if (e.getValue().size() > 1) {
                throw new BadInput(name, "'" + name + "' takes a single value");
            } else {
                message.setField(f, scalar(f, e.getValue().get(0)));
            }
        }
    }

    /** Converts a path or query string to a scalar field's value. */
    static Object scalar(FieldDescriptor f, String v) throws BadInput {
        if (v == null) {
            throw new BadInput(f.getName(), "'" + f.getName() + "' needs a value ('" + f.getName() + "=...')");
        }
        try {
            return switch (f.getType()) {
                case STRING -> v;
                case INT32, SINT32, SFIXED32 -> Integer.parseInt(v);
                case UINT32, FIXED32 -> Integer.parseUnsignedInt(v);
                case INT64, SINT64, SFIXED64 -> Long.parseLong(v);
                case UINT64, FIXED64 -> Long.parseUnsignedLong(v);
                case BOOL -> switch (v) {
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    default -> throw new IllegalArgumentException("expected true or false");
                };
                case FLOAT -> Float.parseFloat(v);
                case DOUBLE -> Double.parseDouble(v);
                case BYTES -> ByteString.copyFrom(v.indexOf('-') >= 0 || v.indexOf('_') >= 0
                        ? Base64.getUrlDecoder().decode(v) : Base64.getDecoder().decode(v));
                case ENUM -> {
                    var value = f.getEnumType().findValueByName(v);
                    if (value == null) {
                        throw new IllegalArgumentException("expected one of " + f.getEnumType().getValues().stream()
                                .map(x -> x.getName()).toList());
                    }
                    yield value;
                }
                default -> throw new IllegalArgumentException("a " + f.getType() + " field cannot be set from text");
            };
        } catch (IllegalArgumentException e) {
            throw new BadInput(f.getName(), "invalid value '" + v + "' for " + f.getName() + " ("
                    + f.getType().name().toLowerCase() + "): " + e.getMessage());
        }
    }

    // ---- calling the service -----------------------------------------------------------------------

    private ClientCall<DynamicMessage, DynamicMessage> newCall(HttpRoute route) {
        CallOptions options = CallOptions.DEFAULT;
        if (!route.method().isServerStreaming() && !route.method().isClientStreaming()) {
            options = options.withDeadlineAfter(properties.unaryDeadline().toMillis(), TimeUnit.MILLISECONDS);
        }
        return channels.channel(route.backend()).newCall(grpcMethods.get(route.method()), options);
    }

    private static Metadata metadata(ServerRequest request) {
        Metadata md = new Metadata();
        for (String h : FORWARDED_HEADERS) {
            String v = request.headers().firstHeader(h);
            if (v != null) {
                md.put(Metadata.Key.of(h, Metadata.ASCII_STRING_MARSHALLER), v);
            }
        }
        return md;
    }

    private Mono<ServerResponse> call(HttpRoute route, DynamicMessage message, ServerRequest request) {
        CallBridge bridge = new CallBridge(newCall(route));
        bridge.start(metadata(request));
        bridge.call().sendMessage(message);
        bridge.call().halfClose();
        return respond(route, bridge, request);
    }

    /** Streams the raw HTTP body to a client-streaming RPC, as fast as the service takes it. */
    private Mono<ServerResponse> clientStream(HttpRoute route, DynamicMessage.Builder first, ServerRequest request) {
        CallBridge bridge = new CallBridge(newCall(route));
        Upload upload = new Upload(bridge.call(), route, first);
        bridge.onReady(upload::resumeIfReady);
        bridge.start(metadata(request));
        request.body(org.springframework.web.reactive.function.BodyExtractors.toDataBuffers()).subscribe(upload);
        // Every streamed upload ends its HTTP/1.1 connection ("Connection: close", RFC 9112 §9.6), whatever the
        // answer. A refusal may come before the body was read; and after a streamed upload with backpressure,
        // Reactor Netty 1.3 was seen to leave the connection unread, so the next request on it hung (about 1 in
        // 30, CellE2EIT and a 200-request loop). A new connection per upload costs a handshake, and nothing hangs.
        return respond(route, bridge, request, headers -> headers.set(HttpHeaders.CONNECTION, "close"))
                .doFinally(signal -> upload.dispose());
    }

    /**
     * The HTTP body going into a client-streaming call, one buffer a message, with backpressure: the next
     * buffer is requested only when the call can take it ({@code isReady}).
     */
    private static final class Upload extends BaseSubscriber<DataBuffer> {

        private final ClientCall<DynamicMessage, DynamicMessage> call;
        private final HttpRoute route;
        private final DynamicMessage.Builder first;
        private final FieldDescriptor raw;
        private final AtomicBoolean waitingForReady = new AtomicBoolean();
        private boolean sentFirst;

        Upload(ClientCall<DynamicMessage, DynamicMessage> call, HttpRoute route, DynamicMessage.Builder first) {
            this.call = call;
            this.route = route;
            this.first = first;
            this.raw = route.rawBodyField();
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            request(1);
        }

        @Override
        protected void hookOnNext(DataBuffer buffer) {
            byte[] bytes = new byte[buffer.readableByteCount()];
            buffer.read(bytes);
            DataBufferUtils.release(buffer);
            DynamicMessage.Builder msg = sentFirst ? DynamicMessage.newBuilder(route.method().getInputType()) : first.clone();
            sentFirst = true;
            try {
                call.sendMessage(msg.setField(raw, ByteString.copyFrom(bytes)).build());
            } catch (IllegalStateException callAlreadyCancelled) {
                dispose();
                return;
            }
            waitingForReady.set(true);
            resumeIfReady();
        }

        /**
         * Asks for the next buffer once the call is ready. Called after each send and by the call's onReady.
         * onReady is the wake-up and a short re-check the safety net: right after the call starts, grpc-java can
         * report onReady while isReady() still answers false (its delayed stream) and then never again — uploads
         * stalled about once in fifty before the re-check.
         */
        void resumeIfReady() {
            if (isDisposed() || !waitingForReady.get()) {
                return;
            }
            if (call.isReady()) {
                if (waitingForReady.compareAndSet(true, false)) {
                    request(1);
                }
            } else {
                Schedulers.parallel().schedule(this::resumeIfReady, READY_RECHECK_MILLIS, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        protected void hookOnComplete() {
            if (!sentFirst) {
                call.sendMessage(first.build());
            }
            call.halfClose();
        }

        @Override
        protected void hookOnError(Throwable t) {
            call.cancel("the HTTP request body failed", t);
        }
    }

    private Mono<ServerResponse> respond(HttpRoute route, CallBridge bridge, ServerRequest request) {
        return respond(route, bridge, request, h -> { });
    }

    /** {@code extraHeaders} adds headers to the answer, whatever it is (e.g. closing the connection). */
    private Mono<ServerResponse> respond(HttpRoute route, CallBridge bridge, ServerRequest request,
            java.util.function.Consumer<HttpHeaders> extraHeaders) {
        Mono<Void> first = bridge.firstSignal();
        if (route.method().isServerStreaming()) {
            // a stream that fails at once gets its own HTTP status; one that is quiet (a watch) gets 200 soon
            first = first.timeout(FIRST_MESSAGE_WAIT, Mono.empty());
        }
        return first.then(Mono.defer(() -> {
            StatusRuntimeException early = bridge.earlyError();
            if (early != null) {
                return grpcError(early, extraHeaders);
            }
            if (!route.method().isServerStreaming()) {
                // wait for the close too: the answer is final only with an OK status
                return bridge.responses().last()
                        .flatMap(m -> ServerResponse.ok().headers(extraHeaders).contentType(MediaType.APPLICATION_JSON)
                                .bodyValue(printResponse(route, m)))
                        .onErrorResume(StatusRuntimeException.class, e -> grpcError(e, extraHeaders));
            }
            DataBufferFactory buffers = request.exchange().getResponse().bufferFactory();
            // ask the service for messages a couple at a time: Reactor Netty's writer prefetches 128,
            // which for 256 KiB blob pieces would be 32 MiB of gateway heap per slow reader
            Flux<DynamicMessage> messages = bridge.responses().limitRate(STREAM_PREFETCH);
            FieldDescriptor raw = route.rawResponseField();
            if (raw != null && !acceptsNdjson(request)) {
                Flux<DataBuffer> body = messages
                        .map(m -> buffers.wrap(((ByteString) m.getField(raw)).toByteArray()))
                        .doOnError(e -> log.warn("{} failed mid-stream; the HTTP response is cut short: {}",
                                route.method().getFullName(), e.getMessage()));
                return ServerResponse.ok().headers(extraHeaders).contentType(MediaType.APPLICATION_OCTET_STREAM)
                        .body(BodyInserters.fromDataBuffers(body));
            }
            Flux<DataBuffer> body = messages
                    .map(m -> buffers.wrap((printCompact(route, m) + "\n").getBytes(StandardCharsets.UTF_8)))
                    .onErrorResume(StatusRuntimeException.class, e -> Flux.just(buffers.wrap(
                            ("{\"error\":" + statusJson(e, true) + "}\n").getBytes(StandardCharsets.UTF_8))));
            return ServerResponse.ok().headers(extraHeaders).contentType(NDJSON).body(BodyInserters.fromDataBuffers(body));
        })).doOnCancel(() -> bridge.call().cancel("the HTTP client went away", null));
    }

    private static boolean acceptsNdjson(ServerRequest request) {
        try {
            return request.headers().accept().stream().anyMatch(NDJSON::equalsTypeAndSubtype);
        } catch (org.springframework.http.InvalidMediaTypeException malformedAcceptHeader) {
            return false;
        }
    }

    // ---- JSON ------------------------------------------------------------------------------------------

    private String printResponse(HttpRoute route, DynamicMessage m) {
        return print(printer, route, m);
    }

    private String printCompact(HttpRoute route, DynamicMessage m) {
        return print(compactPrinter, route, m);
    }

    private String print(JsonFormat.Printer p, HttpRoute route, DynamicMessage m) {
        try {
            if (!route.responseBody().isEmpty()) {
                FieldDescriptor f = m.getDescriptorForType().findFieldByName(route.responseBody());
                if (f != null && f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !f.isRepeated()) {
                    return p.print((Message) m.getField(f));
                }
            }
            return p.print(m);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print " + m.getDescriptorForType().getFullName(), e);
        }
    }

    private Mono<ServerResponse> grpcError(StatusRuntimeException e) {
        return grpcError(e, h -> { });
    }

    private Mono<ServerResponse> grpcError(StatusRuntimeException e, java.util.function.Consumer<HttpHeaders> headers) {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        return error(HttpStatusMapping.of(e.getStatus().getCode(), details), statusJson(e, false), headers);
    }

    private String statusJson(StatusRuntimeException e, boolean compact) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        if (status == null) {
            status = com.google.rpc.Status.newBuilder().setCode(e.getStatus().getCode().value())
                    .setMessage(e.getStatus().getDescription() == null ? e.getStatus().getCode().name()
                            : e.getStatus().getDescription())
                    .build();
        }
        JsonFormat.Printer p = compact ? compactPrinter : printer;
        try {
            return p.print(status);
        } catch (InvalidProtocolBufferException unknownDetailType) {
            try {
                return p.print(status.toBuilder().clearDetails().build());
            } catch (InvalidProtocolBufferException e2) {
                throw new IllegalStateException(e2);
            }
        }
    }

    private String statusJson(Code code, String message, String field) {
        com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber()).setMessage(message);
        if (field != null) {
            status.addDetails(com.google.protobuf.Any.pack(BadRequest.newBuilder()
                    .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(message))
                    .build()));
        }
        try {
            return printer.print(status);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private Mono<ServerResponse> badRequest(BadInput e) {
        return error(HttpStatus.BAD_REQUEST, statusJson(Code.INVALID_ARGUMENT, e.getMessage(), e.field), h -> { });
    }

    private static Mono<ServerResponse> error(HttpStatus status, String json,
            java.util.function.Consumer<HttpHeaders> headers) {
        return ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON).headers(headers).bodyValue(json);
    }
}
