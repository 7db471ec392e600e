package io.celluler.core.test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.celluler.core.boot.CellulerApplication;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * One service started for an integration test the way a cell starts it ({@link CellulerApplication}), on
 * loopback with free ports and its state under {@code dataDir}, and a plaintext gRPC channel to it. Closing it
 * closes the channel, then the service (a restart test starts another on the same folder).
 */
public final class RunningService implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final ManagedChannel channel;

    private RunningService(ConfigurableApplicationContext context, ManagedChannel channel) {
        this.context = context;
        this.channel = channel;
    }

    /**
     * @param extraArgs      more {@code --key=value} arguments (a test's settings, a PostgreSQL profile)
     * @param maxInboundSize the largest message the channel takes in
     */
    public static RunningService start(Class<?> application, String name, Path dataDir, List<String> extraArgs,
            int maxInboundSize) {
        List<String> args = new ArrayList<>(List.of("--celluler.data-dir=" + dataDir, "--server.port=0",
                "--server.address=127.0.0.1", "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1"));
        args.addAll(extraArgs);
        ConfigurableApplicationContext context = CellulerApplication.builder(application, name)
                .run(args.toArray(String[]::new));
        int port = context.getBean(GrpcServerLifecycle.class).getPort();
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                .maxInboundMessageSize(maxInboundSize).build();
        return new RunningService(context, channel);
    }

    public static RunningService start(Class<?> application, String name, Path dataDir, List<String> extraArgs) {
        return start(application, name, dataDir, extraArgs, 4 << 20);
    }

    public ConfigurableApplicationContext context() {
        return context;
    }

    public ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        context.close();
    }
}
