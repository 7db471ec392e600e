package io.celluler.core.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.StatRequest;
import io.celluler.proto.cas.v1.StatResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RoadmapInterceptorTest {

    private Server server;
    private ManagedChannel channel;

    private CasServiceGrpc.CasServiceBlockingStub start(CasServiceGrpc.CasServiceImplBase impl) throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(ServerInterceptors.intercept(impl, new RoadmapInterceptor("cas-service", "the CAS issue")))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        return CasServiceGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    @Test
    void unbuiltRpcAnswersUnimplementedNamingTheArea() throws Exception {
        var stub = start(new CasServiceGrpc.CasServiceImplBase() { });

        assertThatThrownBy(() -> stub.stat(StatRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
                    assertThat(e.getStatus().getDescription())
                            .isEqualTo("celluler.cas.v1.CasService/Stat is not implemented yet in cas-service: "
                                    + "it arrives with the CAS issue");
                });
    }

    @Test
    void ownUnimplementedMessagesAndOtherStatusesPassUntouched() throws Exception {
        var stub = start(new CasServiceGrpc.CasServiceImplBase() {
            @Override
            public void stat(StatRequest request, io.grpc.stub.StreamObserver<StatResponse> observer) {
                observer.onError(Status.UNIMPLEMENTED.withDescription("mode X is not supported").asRuntimeException());
            }

            @Override
            public void delete(io.celluler.proto.cas.v1.DeleteRequest request,
                    io.grpc.stub.StreamObserver<io.celluler.proto.cas.v1.DeleteResponse> observer) {
                observer.onError(GrpcErrors.invalidArgument("sha256", "must be 64 lowercase hex characters"));
            }
        });

        assertThatThrownBy(() -> stub.stat(StatRequest.getDefaultInstance()))
                .hasMessage("UNIMPLEMENTED: mode X is not supported");
        assertThatThrownBy(() -> stub.delete(io.celluler.proto.cas.v1.DeleteRequest.getDefaultInstance()))
                .hasMessage("INVALID_ARGUMENT: sha256: must be 64 lowercase hex characters");
    }
}
