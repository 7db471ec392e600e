package io.celluler.gateway.transcode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.api.HttpRule;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import org.springframework.web.util.UriUtils;

/**
 * One REST binding of an RPC, from its {@code google.api.http} rule: an HTTP method and a path template such
 * as {@code /v1/objects/{root}:stat}. Supported template subset (the contracts' lint test keeps to it):
 * literal segments, single-segment variables naming a top-level scalar field of the request, an optional
 * {@code :verb} suffix; {@code body} is empty, {@code "*"} or a top-level field; {@code response_body} is
 * empty or a top-level field.
 */
public final class HttpRoute {

    private final String httpMethod;
    private final String template;
    private final List<String> segments;
    private final String verb;
    private final MethodDescriptor method;
    private final String backend;
    private final String body;
    private final String responseBody;

    private HttpRoute(String httpMethod, String template, MethodDescriptor method, String backend, String body,
            String responseBody) {
        this.httpMethod = httpMethod;
        this.template = template;
        this.method = method;
        this.backend = backend;
        this.body = body;
        this.responseBody = responseBody;
        String path = template;
        String v = null;
        int lastSlash = path.lastIndexOf('/');
        String last = path.substring(lastSlash + 1);
        int colon = last.indexOf(':', last.lastIndexOf('}') + 1);
        if (colon >= 0) {
            v = last.substring(colon + 1);
            path = path.substring(0, lastSlash + 1 + colon);
        }
        this.verb = v;
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException(method.getFullName() + ": path must start with '/': " + template);
        }
        this.segments = List.of(path.substring(1).split("/", -1));
        for (String seg : segments) {
            if (seg.startsWith("{")) {
                String field = seg.substring(1, seg.length() - 1);
                FieldDescriptor fd = method.getInputType().findFieldByName(field);
                if (!seg.endsWith("}") || field.contains("=") || field.contains(".") || fd == null || fd.isRepeated()
                        || fd.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                    throw new IllegalArgumentException(method.getFullName() + ": unsupported path variable " + seg
                            + " (a top-level scalar field of " + method.getInputType().getName() + " is expected)");
                }
            }
        }
    }

    /** The REST binding of an RPC, or null when it has none. */
    public static HttpRoute of(MethodDescriptor method, String backend) {
        HttpRule rule = ApiDescriptors.httpRule(method);
        if (rule == null) {
            return null;
        }
        String verb;
        String template;
        switch (rule.getPatternCase()) {
            case GET -> { verb = "GET"; template = rule.getGet(); }
            case PUT -> { verb = "PUT"; template = rule.getPut(); }
            case POST -> { verb = "POST"; template = rule.getPost(); }
            case DELETE -> { verb = "DELETE"; template = rule.getDelete(); }
            case PATCH -> { verb = "PATCH"; template = rule.getPatch(); }
            case CUSTOM -> { verb = rule.getCustom().getKind(); template = rule.getCustom().getPath(); }
            default -> { return null; }
        }
        return new HttpRoute(verb, template, method, backend, rule.getBody(), rule.getResponseBody());
    }

    /**
     * The path variables when the path fits this template (whatever the HTTP method), else null.
     * Variables are percent-decoded.
     */
    public Map<String, String> match(String path) {
        String p = path;
        int lastSlash = p.lastIndexOf('/');
        int colon = p.indexOf(':', lastSlash);
        if (verb != null) {
            if (colon < 0 || !p.substring(colon + 1).equals(verb)) {
                return null;
            }
            p = p.substring(0, colon);
        } else if (colon >= 0) {
            return null;
        }
        if (!p.startsWith("/")) {
            return null;
        }
        String[] parts = p.substring(1).split("/", -1);
        if (parts.length != segments.size()) {
            return null;
        }
        Map<String, String> vars = new LinkedHashMap<>();
        for (int i = 0; i < parts.length; i++) {
            String seg = segments.get(i);
            if (seg.startsWith("{")) {
                if (parts[i].isEmpty()) {
                    return null;
                }
                vars.put(seg.substring(1, seg.length() - 1), UriUtils.decode(parts[i], StandardCharsets.UTF_8));
            } else if (!seg.equals(parts[i])) {
                return null;
            }
        }
        return vars;
    }

    /** Fields bound from the path. */
    public List<String> pathFields() {
        List<String> out = new ArrayList<>();
        for (String seg : segments) {
            if (seg.startsWith("{")) {
                out.add(seg.substring(1, seg.length() - 1));
            }
        }
        return out;
    }

    public String httpMethod() {
        return httpMethod;
    }

    public String template() {
        return template;
    }

    public MethodDescriptor method() {
        return method;
    }

    public String backend() {
        return backend;
    }

    /** "" (no body), "*" (the whole request message) or a top-level field name. */
    public String body() {
        return body;
    }

    /** "" (the whole response message) or a top-level field name. */
    public String responseBody() {
        return responseBody;
    }

    /** The request field that receives the raw HTTP body, when the body is bound to a {@code bytes} field. */
    public FieldDescriptor rawBodyField() {
        if (body.isEmpty() || body.equals("*")) {
            return null;
        }
        FieldDescriptor f = method.getInputType().findFieldByName(body);
        return f != null && f.getType() == FieldDescriptor.Type.BYTES && !f.isRepeated() ? f : null;
    }

    /** The response field sent as the raw HTTP body, when response_body names a {@code bytes} field. */
    public FieldDescriptor rawResponseField() {
        if (responseBody.isEmpty()) {
            return null;
        }
        FieldDescriptor f = method.getOutputType().findFieldByName(responseBody);
        return f != null && f.getType() == FieldDescriptor.Type.BYTES && !f.isRepeated() ? f : null;
    }

    @Override
    public String toString() {
        return httpMethod + " " + template + " -> " + method.getFullName();
    }
}
