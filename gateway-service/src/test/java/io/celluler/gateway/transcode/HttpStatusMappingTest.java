package io.celluler.gateway.transcode;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

class HttpStatusMappingTest {

    @Test
    void theDesignTable() {
        assertThat(HttpStatusMapping.of(Status.Code.INVALID_ARGUMENT, null)).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(HttpStatusMapping.of(Status.Code.UNAUTHENTICATED, null)).isEqualTo(HttpStatus.UNAUTHORIZED);
        assertThat(HttpStatusMapping.of(Status.Code.PERMISSION_DENIED, null)).isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(HttpStatusMapping.of(Status.Code.NOT_FOUND, null)).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(HttpStatusMapping.of(Status.Code.ALREADY_EXISTS, null)).isEqualTo(HttpStatus.CONFLICT);
        assertThat(HttpStatusMapping.of(Status.Code.ABORTED, null)).isEqualTo(HttpStatus.CONFLICT);
        assertThat(HttpStatusMapping.of(Status.Code.UNIMPLEMENTED, null)).isEqualTo(HttpStatus.NOT_IMPLEMENTED);
        assertThat(HttpStatusMapping.of(Status.Code.UNAVAILABLE, null)).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(HttpStatusMapping.of(Status.Code.DEADLINE_EXCEEDED, null)).isEqualTo(HttpStatus.GATEWAY_TIMEOUT);
        assertThat(HttpStatusMapping.of(Status.Code.INTERNAL, null)).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
    }

    @Test
    void resourceExhaustedIs413ForASizeLimitOnAFieldAnd429Otherwise() {
        com.google.rpc.Status sizeLimit = com.google.rpc.Status.newBuilder()
                .addDetails(Any.pack(BadRequest.newBuilder()
                        .addFieldViolations(BadRequest.FieldViolation.newBuilder().setField("data")).build()))
                .build();

        assertThat(HttpStatusMapping.of(Status.Code.RESOURCE_EXHAUSTED, sizeLimit)).isEqualTo(HttpStatus.PAYLOAD_TOO_LARGE);
        assertThat(HttpStatusMapping.of(Status.Code.RESOURCE_EXHAUSTED, null)).isEqualTo(HttpStatus.TOO_MANY_REQUESTS);
    }
}
