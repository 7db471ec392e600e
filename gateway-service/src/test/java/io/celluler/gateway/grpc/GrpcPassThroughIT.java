package io.celluler.gateway.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.celluler.core.boot.CellulerApplication;
import io.celluler.gateway.GatewayServiceApplication;
import io.celluler.proto.model.v1.InferStreamRequest;
import io.celluler.proto.model.v1.InferStreamResponse;
import io.celluler.proto.model.v1.ModelServiceGrpc;
import io.grpc.Context;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The gateway's gRPC pass-through with a bidirectional stream, against a stand-in model-service (a real gRPC
 * server on loopback whose InferStream echoes each request at once). Proves that messages flow both ways one
 * at a time through Spring Cloud Gateway (nothing is buffered until the end), that the deadline reaches the
 * service, and that custom trailers come back.
 */
class GrpcPassThroughIT {

    static final Metadata.Key<String> TRAILER = Metadata.Key.of("x-celluler-echoed", Metadata.ASCII_STRING_MARSHALLER);

    static Server backend;
    static ConfigurableApplicationContext gateway;
    static ManagedChannel channel;

    /** Echoes each request immediately, noting whether the call carries a deadline; ends with a custom trailer. */
    static class EchoModelService extends ModelServiceGrpc.ModelServiceImplBase {
        @Override
        public StreamObserver<InferStreamRequest> inferStream(StreamObserver<InferStreamResponse> responses) {
            boolean hasDeadline = Context.current().getDeadline() != null;
            return new StreamObserver<>() {
                int count;

                @Override
                public void onNext(InferStreamRequest r) {
                    count++;
                    responses.onNext(InferStreamResponse.newBuilder().setRequestId(r.getRequestId())
                            .setInferenceId(hasDeadline ? "deadline-propagated" : "no-deadline").build());
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    TRAILER_COUNT.set(count);
                    responses.onCompleted();
                }
            };
        }
    }

    static final java.util.concurrent.atomic.AtomicInteger TRAILER_COUNT = new java.util.concurrent.atomic.AtomicInteger();

    /** Adds the trailer {@code x-celluler-echoed: <messages echoed>} to every closing call. */
    static class TrailerInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                public void close(Status status, Metadata trailers) {
                    trailers.put(TRAILER, String.valueOf(TRAILER_COUNT.get()));
                    super.close(status, trailers);
                }
            }, headers);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        backend = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new EchoModelService(), new TrailerInterceptor()))
                .build().start();
        gateway = CellulerApplication.builder(GatewayServiceApplication.class, GatewayServiceApplication.NAME)
                .run("--server.port=0", "--server.address=127.0.0.1",
                        "--celluler.gateway.backends.model-service=127.0.0.1:" + backend.getPort());
        int port = Integer.parseInt(gateway.getEnvironment().getProperty("local.server.port"));
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (gateway != null) {
            gateway.close();
        }
        if (backend != null) {
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void bidiStreamFlowsOneMessageAtATimeWithDeadlineAndTrailers() throws Exception {
        BlockingQueue<InferStreamResponse> received = new LinkedBlockingQueue<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicReference<Metadata> trailers = new java.util.concurrent.atomic.AtomicReference<>();
        ModelServiceGrpc.ModelServiceStub stub = ModelServiceGrpc.newStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(
                        new java.util.concurrent.atomic.AtomicReference<>(), trailers));
        StreamObserver<InferStreamRequest> requests = stub.inferStream(new StreamObserver<>() {
            @Override
            public void onNext(InferStreamResponse value) {
                received.add(value);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });

        // ping-pong: each answer must arrive before the next request is sent
        for (int i = 0; i < 5; i++) {
            requests.onNext(InferStreamRequest.newBuilder().setRequestId("r" + i).build());
            InferStreamResponse answer = received.poll(10, TimeUnit.SECONDS);
            assertThat(answer).as("answer " + i + " while the stream is open").isNotNull();
            assertThat(answer.getRequestId()).isEqualTo("r" + i);
            assertThat(answer.getInferenceId()).isEqualTo("deadline-propagated");
        }
        requests.onCompleted();
        done.get(10, TimeUnit.SECONDS);

        assertThat(trailers.get().get(TRAILER)).isEqualTo("5");
        assertThat(received).isEmpty();
    }

    @Test
    void unknownServicesAreNotRouted() {
        var unroutable = io.grpc.health.v1.HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);

        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> unroutable.check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()))
                // no route: HTTP 404, which gRPC clients read as UNIMPLEMENTED (the code for an unknown service)
                .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    }
}
