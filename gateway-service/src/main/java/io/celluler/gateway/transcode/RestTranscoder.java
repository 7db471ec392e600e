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
            return clientStream(route, first, request);
        }
        if (route.body().isEmpty()) {
            return call(route, first.build(), request);
        }
        return DataBufferUtils.join(request.body(org.springframework.web.reactive.function.BodyExtractors.toDataBuffers()),
                        (int) properties.maxJsonBodySize().toBytes())
                .map(buffer -> {
                    try {
                        byte[] bytes = new byte[buffer.readableByteCount()];
                        buffer.read(bytes);
                        return bytes;
                    } finally {
                        DataBufferUtils.release(buffer);
                    }
                })
                .defaultIfEmpty(new byte[0])
                .flatMap(bytes -> {
                    try {
                        DynamicMessage.Builder message = DynamicMessage.newBuilder(route.method().getInputType());
                        bindBody(message, route, bytes);
                        // path and query fields win over the body (google.api.http semantics)
                        message.mergeFrom(first.build());
                        return call(route, message.build(), request);
                    } catch (BadInput e) {
                        return badRequest(e);
                    }
                })
                .onErrorResume(DataBufferLimitException.class, e -> error(HttpStatus.PAYLOAD_TOO_LARGE,
                        statusJson(Code.RESOURCE_EXHAUSTED, "request body exceeds " + properties.maxJsonBodySize().toBytes()
                                + " bytes (celluler.gateway.max-json-body-size)", "body"), h -> { }));
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
        FieldDescriptor raw = route.rawBodyField();
        CallBridge bridge = new CallBridge(newCall(route));
        ClientCall<DynamicMessage, DynamicMessage> call = bridge.call();
        AtomicBoolean waitingForReady = new AtomicBoolean();
        BaseSubscriber<DataBuffer> upload = new BaseSubscriber<>() {
            private boolean sentFirst;

            @Override
            protected void hookOnSubscribe(Subscription subscription) {
                request(1);
            }

            @Override
            protected void hookOnNext(DataBuffer buffer) {
                byte[] bytes = new byte[buffer.readableByteCount()];
                buffer.read(bytes);
                DataBufferUtils.release(buffer);
                DynamicMessage.Builder msg = sentFirst
                        ? DynamicMessage.newBuilder(route.method().getInputType()) : first.clone();
                sentFirst = true;
                try {
                    call.sendMessage(msg.setField(raw, ByteString.copyFrom(bytes)).build());
                } catch (IllegalStateException callAlreadyCancelled) {
                    dispose();
                    return;
                }
                if (call.isReady()) {
                    request(1);
                } else {
                    waitingForReady.set(true);
                    if (call.isReady() && waitingForReady.compareAndSet(true, false)) {
                        request(1);
                    }
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
        };
        bridge.onReady(() -> {
            if (waitingForReady.compareAndSet(true, false)) {
                upload.request(1);
            }
        });
        bridge.start(metadata(request));
        request.body(org.springframework.web.reactive.function.BodyExtractors.toDataBuffers()).subscribe(upload);
        // once the service has answered (a refusal may come before the upload ends) stop reading the body
        return respond(route, bridge, request).doFinally(signal -> upload.dispose());
    }

    private Mono<ServerResponse> respond(HttpRoute route, CallBridge bridge, ServerRequest request) {
        Mono<Void> first = bridge.firstSignal();
        if (route.method().isServerStreaming()) {
            // a stream that fails at once gets its own HTTP status; one that is quiet (a watch) gets 200 soon
            first = first.timeout(FIRST_MESSAGE_WAIT, Mono.empty());
        }
        return first.then(Mono.defer(() -> {
            StatusRuntimeException early = bridge.earlyError();
            if (early != null) {
                return grpcError(early);
            }
            if (!route.method().isServerStreaming()) {
                // wait for the close too: the answer is final only with an OK status
                return bridge.responses().last()
                        .flatMap(m -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
                                .bodyValue(printResponse(route, m)))
                        .onErrorResume(StatusRuntimeException.class, this::grpcError);
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
                return ServerResponse.ok().contentType(MediaType.APPLICATION_OCTET_STREAM)
                        .body(BodyInserters.fromDataBuffers(body));
            }
            Flux<DataBuffer> body = messages
                    .map(m -> buffers.wrap((printCompact(route, m) + "\n").getBytes(StandardCharsets.UTF_8)))
                    .onErrorResume(StatusRuntimeException.class, e -> Flux.just(buffers.wrap(
                            ("{\"error\":" + statusJson(e, true) + "}\n").getBytes(StandardCharsets.UTF_8))));
            return ServerResponse.ok().contentType(NDJSON).body(BodyInserters.fromDataBuffers(body));
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
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        return error(HttpStatusMapping.of(e.getStatus().getCode(), details), statusJson(e, false), h -> { });
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
