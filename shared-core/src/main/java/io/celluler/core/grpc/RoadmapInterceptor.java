package io.celluler.core.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Turns grpc-java's bare "Method X is unimplemented" into an answer that says where the RPC will come
 * from: the service and the roadmap area (the issue) that builds it. The status code stays
 * {@code UNIMPLEMENTED}; RPCs that are built are untouched.
 */
public final class RoadmapInterceptor implements ServerInterceptor {

    private final String serviceName;
    private final String roadmap;

    public RoadmapInterceptor(String serviceName, String roadmap) {
        this.serviceName = serviceName;
        this.roadmap = roadmap;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                super.close(isDefaultUnimplemented(status) ? status.withDescription(message(method)) : status, trailers);
            }
        }, headers);
    }

    String message(String fullMethodName) {
        return fullMethodName + " is not implemented yet in " + serviceName + ": it arrives with " + roadmap;
    }

    private static boolean isDefaultUnimplemented(Status status) {
        String d = status.getDescription();
        return status.getCode() == Status.Code.UNIMPLEMENTED && d != null
                && d.startsWith("Method ") && d.endsWith(" is unimplemented");
    }
}
