package io.celluler.gateway.transcode;

import com.google.rpc.BadRequest;
import io.grpc.Status;
import org.springframework.http.HttpStatus;

/**
 * gRPC status → HTTP status (DESIGN §5), the table grpc-gateway and Google APIs use, with one Celluler rule:
 * RESOURCE_EXHAUSTED is 413 when the status carries a {@code BadRequest} field violation (a size limit on a
 * field of the request) and 429 otherwise (a rate or quota).
 */
public final class HttpStatusMapping {

    private HttpStatusMapping() {
    }

    public static HttpStatus of(Status.Code code, com.google.rpc.Status details) {
        return switch (code) {
            case OK -> HttpStatus.OK;
            // 499 "client closed request" is not a standard status; a cancelled call is the client's doing
            case CANCELLED, INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> HttpStatus.BAD_REQUEST;
            case UNAUTHENTICATED -> HttpStatus.UNAUTHORIZED;
            case PERMISSION_DENIED -> HttpStatus.FORBIDDEN;
            case NOT_FOUND -> HttpStatus.NOT_FOUND;
            case ALREADY_EXISTS, ABORTED -> HttpStatus.CONFLICT;
            case RESOURCE_EXHAUSTED -> hasFieldViolation(details) ? HttpStatus.PAYLOAD_TOO_LARGE : HttpStatus.TOO_MANY_REQUESTS;
            case UNIMPLEMENTED -> HttpStatus.NOT_IMPLEMENTED;
            case UNAVAILABLE -> HttpStatus.SERVICE_UNAVAILABLE;
            case DEADLINE_EXCEEDED -> HttpStatus.GATEWAY_TIMEOUT;
            case UNKNOWN, INTERNAL, DATA_LOSS -> HttpStatus.INTERNAL_SERVER_ERROR;
        };
    }

    private static boolean hasFieldViolation(com.google.rpc.Status details) {
        if (details == null) {
            return false;
        }
        return details.getDetailsList().stream().anyMatch(any -> any.is(BadRequest.class));
    }
}
