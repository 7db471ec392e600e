package io.celluler.core.grpc;

import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/**
 * Errors the way every Celluler API answers them: a standard gRPC code with a message a person can act
 * on, and for bad input a {@code google.rpc.BadRequest} detail naming the field.
 */
public final class GrpcErrors {

    private GrpcErrors() {
    }

    /** INVALID_ARGUMENT naming the field, with a {@code BadRequest.FieldViolation} detail. */
    public static StatusRuntimeException invalidArgument(String field, String description) {
        return withFieldViolation(Code.INVALID_ARGUMENT, field, description);
    }

    /** RESOURCE_EXHAUSTED for a documented limit (size, count, rate) that the request exceeds. */
    public static StatusRuntimeException limitExceeded(String field, String description) {
        return withFieldViolation(Code.RESOURCE_EXHAUSTED, field, description);
    }

    public static StatusRuntimeException notFound(String description) {
        return Status.NOT_FOUND.withDescription(description).asRuntimeException();
    }

    private static StatusRuntimeException withFieldViolation(Code code, String field, String description) {
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(code.getNumber())
                .setMessage(field + ": " + description)
                .addDetails(com.google.protobuf.Any.pack(BadRequest.newBuilder()
                        .addFieldViolations(BadRequest.FieldViolation.newBuilder()
                                .setField(field)
                                .setDescription(description))
                        .build()))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }
}
