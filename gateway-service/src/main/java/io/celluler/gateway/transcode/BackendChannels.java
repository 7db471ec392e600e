package io.celluler.gateway.transcode;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.celluler.gateway.config.GatewayProperties;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/** One long-lived gRPC channel per backend service, opened on first use (the transcoder's client side). */
@Component
public class BackendChannels implements DisposableBean {

    /** Large enough for any response message the services send (their own limits are lower). */
    static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final GatewayProperties properties;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    public BackendChannels(GatewayProperties properties) {
        this.properties = properties;
    }

    public ManagedChannel channel(String backend) {
        return channels.computeIfAbsent(backend, name -> ManagedChannelBuilder
                .forTarget(properties.backends().get(name))
                .usePlaintext()
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .build());
    }

    @Override
    public void destroy() throws InterruptedException {
        channels.values().forEach(ManagedChannel::shutdown);
        for (ManagedChannel c : channels.values()) {
            if (!c.awaitTermination(5, TimeUnit.SECONDS)) {
                c.shutdownNow();
            }
        }
    }
}
