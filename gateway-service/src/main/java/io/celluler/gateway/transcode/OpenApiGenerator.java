package io.celluler.gateway.transcode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAPI 3 document of the REST API, generated from the same descriptors and {@code google.api.http}
 * rules the transcoder runs on, with the proto comments as descriptions. JSON field names are the proto3
 * JSON names (lowerCamelCase); the transcoder also accepts the proto names.
 */
@Component
public class OpenApiGenerator {

    private static final Set<String> WELL_KNOWN_STRINGS = Set.of(
            "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask");

    private final ApiDescriptors api;

    public OpenApiGenerator(ApiDescriptors api) {
        this.api = api;
    }

    public String document(List<HttpRoute> routes) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("openapi", "3.0.3");
        doc.put("info", Map.of(
                "title", "Celluler API",
                "version", "v1",
                "description", "REST/JSON view of the Celluler gRPC contracts (shared-proto), transcoded by the "
                        + "gateway. Server streams answer newline-delimited JSON. Errors are google.rpc.Status."));
        Map<String, Map<String, Object>> paths = new TreeMap<>();
        Deque<Descriptor> pending = new ArrayDeque<>();
        pending.add(com.google.rpc.Status.getDescriptor());
        for (HttpRoute route : routes) {
            paths.computeIfAbsent(route.template(), p -> new LinkedHashMap<>())
                    .put(route.httpMethod().toLowerCase(), operation(route, pending));
        }
        doc.put("paths", paths);
        Map<String, Object> schemas = new TreeMap<>();
        while (!pending.isEmpty()) {
            Descriptor d = pending.pop();
            if (!schemas.containsKey(d.getFullName())) {
                schemas.put(d.getFullName(), messageSchema(d, pending));
            }
        }
        doc.put("components", Map.of("schemas", schemas));
        return JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(doc);
    }

    private Map<String, Object> operation(HttpRoute route, Deque<Descriptor> pending) {
        MethodDescriptor m = route.method();
        Map<String, Object> op = new LinkedHashMap<>();
        op.put("operationId", m.getService().getName() + "_" + m.getName());
        op.put("tags", List.of(m.getService().getFullName()));
        String comment = api.comment(m.getFullName());
        op.put("summary", firstSentence(comment.isEmpty() ? m.getName() : comment));
        op.put("description", comment + " (gRPC: " + m.getFullName() + (m.isServerStreaming() ? ", server stream" : "")
                + (m.isClientStreaming() ? ", client stream" : "") + ")");
        List<Map<String, Object>> params = new ArrayList<>();
        List<String> pathFields = route.pathFields();
        for (String f : pathFields) {
            FieldDescriptor fd = m.getInputType().findFieldByName(f);
            params.add(param(fd, "path", true, pending));
        }
        if (!route.body().equals("*")) {
            for (FieldDescriptor fd : m.getInputType().getFields()) {
                if (pathFields.contains(fd.getName()) || fd.getName().equals(route.body())
                        || fd.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                    continue;
                }
                params.add(param(fd, "query", false, pending));
            }
        }
        if (!params.isEmpty()) {
            op.put("parameters", params);
        }
        if (!route.body().isEmpty()) {
            Map<String, Object> content;
            if (route.rawBodyField() != null) {
                content = Map.of("application/octet-stream", Map.of("schema", Map.of("type", "string", "format", "binary")));
            } else if (route.body().equals("*")) {
                content = Map.of("application/json", Map.of("schema", ref(m.getInputType(), pending)));
            } else {
                content = Map.of("application/json",
                        Map.of("schema", fieldSchema(m.getInputType().findFieldByName(route.body()), pending)));
            }
            op.put("requestBody", Map.of("required", true, "content", content));
        }
        Map<String, Object> ok = new LinkedHashMap<>();
        ok.put("description", m.isServerStreaming() ? "a stream of " + m.getOutputType().getName() : "OK");
        if (route.rawResponseField() != null) {
            ok.put("content", Map.of("application/octet-stream",
                    Map.of("schema", Map.of("type", "string", "format", "binary"))));
        } else {
            Object schema = ref(m.getOutputType(), pending);
            if (!route.responseBody().isEmpty()) {
                schema = fieldSchema(m.getOutputType().findFieldByName(route.responseBody()), pending);
            }
            ok.put("content", Map.of(m.isServerStreaming() ? "application/x-ndjson" : "application/json",
                    Map.of("schema", schema)));
        }
        Map<String, Object> responses = new LinkedHashMap<>();
        responses.put("200", ok);
        responses.put("default", Map.of("description", "an error (google.rpc.Status; HTTP status from the gRPC code)",
                "content", Map.of("application/json", Map.of("schema", ref(com.google.rpc.Status.getDescriptor(), pending)))));
        op.put("responses", responses);
        return op;
    }

    private Map<String, Object> param(FieldDescriptor fd, String in, boolean required, Deque<Descriptor> pending) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("name", fd.getName());
        p.put("in", in);
        p.put("required", required);
        String comment = api.comment(fd.getFullName());
        if (!comment.isEmpty()) {
            p.put("description", comment);
        }
        p.put("schema", fieldSchema(fd, pending));
        if (fd.isRepeated()) {
            p.put("explode", true);
        }
        return p;
    }

    private Map<String, Object> messageSchema(Descriptor d, Deque<Descriptor> pending) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "object");
        String comment = api.comment(d.getFullName());
        if (!comment.isEmpty()) {
            s.put("description", comment);
        }
        Map<String, Object> props = new LinkedHashMap<>();
        for (FieldDescriptor f : d.getFields()) {
            Map<String, Object> fs = new LinkedHashMap<>(fieldSchema(f, pending));
            String fc = api.comment(f.getFullName());
            if (!fc.isEmpty() && !fs.containsKey("$ref")) {
                fs.put("description", fc);
            }
            props.put(f.getJsonName(), fs);
        }
        s.put("properties", props);
        return s;
    }

    private Map<String, Object> fieldSchema(FieldDescriptor f, Deque<Descriptor> pending) {
        if (f.isMapField()) {
            FieldDescriptor value = f.getMessageType().findFieldByName("value");
            return Map.of("type", "object", "additionalProperties", singleSchema(value, pending));
        }
        if (f.isRepeated()) {
            return Map.of("type", "array", "items", singleSchema(f, pending));
        }
        return singleSchema(f, pending);
    }

    private Map<String, Object> singleSchema(FieldDescriptor f, Deque<Descriptor> pending) {
        return switch (f.getType()) {
            case STRING -> Map.of("type", "string");
            case BOOL -> Map.of("type", "boolean");
            case INT32, SINT32, SFIXED32, UINT32, FIXED32 -> Map.of("type", "integer", "format", "int32");
            // proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision)
            case INT64, SINT64, SFIXED64, UINT64, FIXED64 -> Map.of("type", "string", "format", "int64");
            case FLOAT -> Map.of("type", "number", "format", "float");
            case DOUBLE -> Map.of("type", "number", "format", "double");
            case BYTES -> Map.of("type", "string", "format", "byte");
            case ENUM -> Map.of("type", "string", "enum", f.getEnumType().getValues().stream().map(v -> v.getName()).toList());
            case MESSAGE, GROUP -> ref(f.getMessageType(), pending);
        };
    }

    private Map<String, Object> ref(Descriptor d, Deque<Descriptor> pending) {
        String name = d.getFullName();
        if (WELL_KNOWN_STRINGS.contains(name)) {
            return name.endsWith("Timestamp") ? Map.of("type", "string", "format", "date-time") : Map.of("type", "string");
        }
        switch (name) {
            case "google.protobuf.Struct", "google.protobuf.Any" -> {
                return Map.of("type", "object", "additionalProperties", true);
            }
            case "google.protobuf.Value" -> {
                return Map.of();
            }
            case "google.protobuf.Empty" -> {
                return Map.of("type", "object");
            }
            default -> {
                pending.add(d);
                return Map.of("$ref", "#/components/schemas/" + name);
            }
        }
    }

    private static String firstSentence(String text) {
        int dot = text.indexOf(". ");
        return dot > 0 ? text.substring(0, dot + 1) : text;
    }
}
