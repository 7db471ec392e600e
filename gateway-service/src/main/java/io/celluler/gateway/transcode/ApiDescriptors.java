package io.celluler.gateway.transcode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import com.google.protobuf.Descriptors;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.util.JsonFormat;

/**
 * Every Celluler contract, read from the descriptor set that shared-proto's build writes
 * ({@code META-INF/celluler/descriptors.pb}, with imports and comments). One source of truth for the gRPC
 * routes, the REST transcoder and the OpenAPI document.
 */
public final class ApiDescriptors {

    public static final String RESOURCE = "META-INF/celluler/descriptors.pb";

    private final Map<String, FileDescriptor> files;
    private final Map<String, String> comments;
    private final JsonFormat.TypeRegistry typeRegistry;

    private ApiDescriptors(Map<String, FileDescriptor> files, Map<String, String> comments) {
        this.files = files;
        this.comments = comments;
        JsonFormat.TypeRegistry.Builder types = JsonFormat.TypeRegistry.newBuilder();
        files.values().forEach(f -> types.add(f.getMessageTypes()));
        // error details travel as Any inside google.rpc.Status
        types.add(List.of(com.google.rpc.BadRequest.getDescriptor(), com.google.rpc.ErrorInfo.getDescriptor(),
                com.google.rpc.RetryInfo.getDescriptor(), com.google.rpc.QuotaFailure.getDescriptor(),
                com.google.rpc.PreconditionFailure.getDescriptor(), com.google.rpc.ResourceInfo.getDescriptor(),
                com.google.rpc.DebugInfo.getDescriptor()));
        this.typeRegistry = types.build();
    }

    public static ApiDescriptors load() {
        ExtensionRegistry registry = ExtensionRegistry.newInstance();
        AnnotationsProto.registerAllExtensions(registry);
        try (InputStream in = ApiDescriptors.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath (is shared-proto built?)");
            }
            FileDescriptorSet set = FileDescriptorSet.parseFrom(in, registry);
            Map<String, FileDescriptorProto> protos = new LinkedHashMap<>();
            set.getFileList().forEach(f -> protos.put(f.getName(), f));
            Map<String, FileDescriptor> built = new LinkedHashMap<>();
            Map<String, String> comments = new HashMap<>();
            for (FileDescriptorProto proto : set.getFileList()) {
                build(proto.getName(), protos, built);
                collectComments(built.get(proto.getName()), proto.getSourceCodeInfo(), comments);
            }
            return new ApiDescriptors(built, comments);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    private static FileDescriptor build(String name, Map<String, FileDescriptorProto> protos,
            Map<String, FileDescriptor> built) {
        FileDescriptor done = built.get(name);
        if (done != null) {
            return done;
        }
        FileDescriptorProto proto = protos.get(name);
        if (proto == null) {
            throw new IllegalStateException("descriptor set misses " + name);
        }
        List<FileDescriptor> deps = new ArrayList<>();
        for (String dep : proto.getDependencyList()) {
            deps.add(build(dep, protos, built));
        }
        try {
            FileDescriptor fd = FileDescriptor.buildFrom(proto, deps.toArray(FileDescriptor[]::new));
            built.put(name, fd);
            return fd;
        } catch (Descriptors.DescriptorValidationException e) {
            throw new IllegalStateException("invalid descriptor " + name, e);
        }
    }

    /** Leading comments of services, methods, messages and fields, keyed by full name. */
    private static void collectComments(FileDescriptor file, SourceCodeInfo info, Map<String, String> out) {
        for (SourceCodeInfo.Location loc : info.getLocationList()) {
            String comment = loc.getLeadingComments().strip();
            if (comment.isEmpty()) {
                continue;
            }
            List<Integer> path = loc.getPathList();
            String key = null;
            // FileDescriptorProto field numbers: message_type = 4, service = 6; DescriptorProto.field = 2;
            // ServiceDescriptorProto.method = 2
            if (path.size() == 2 && path.get(0) == 6) {
                key = file.getServices().get(path.get(1)).getFullName();
            } else if (path.size() == 4 && path.get(0) == 6 && path.get(2) == 2) {
                key = file.getServices().get(path.get(1)).getMethods().get(path.get(3)).getFullName();
            } else if (path.size() == 2 && path.get(0) == 4) {
                key = file.getMessageTypes().get(path.get(1)).getFullName();
            } else if (path.size() == 4 && path.get(0) == 4 && path.get(2) == 2) {
                key = file.getMessageTypes().get(path.get(1)).getFields().get(path.get(3)).getFullName();
            }
            if (key != null) {
                out.put(key, comment.replaceAll("\\s*\\n\\s*", " "));
            }
        }
    }

    public List<ServiceDescriptor> celluleServices() {
        List<ServiceDescriptor> services = new ArrayList<>();
        for (FileDescriptor f : files.values()) {
            if (f.getPackage().startsWith("celluler.")) {
                services.addAll(f.getServices());
            }
        }
        return services;
    }

    public static HttpRule httpRule(MethodDescriptor method) {
        return method.getOptions().hasExtension(AnnotationsProto.http)
                ? method.getOptions().getExtension(AnnotationsProto.http) : null;
    }

    public String comment(String fullName) {
        return comments.getOrDefault(fullName, "");
    }

    public JsonFormat.TypeRegistry typeRegistry() {
        return typeRegistry;
    }
}
