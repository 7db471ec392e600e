package io.celluler.gateway.config;

import java.time.Duration;
import java.util.Map;

import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * gateway-service settings ({@code celluler.gateway.*}).
 *
 * @param backends         gRPC address ({@code host:port}) of each service, by service name; an API in proto
 *                         package {@code celluler.<area>.v1} is served by {@code <area>-service}
 * @param unaryDeadline    deadline the REST transcoder gives a unary call (streams have none)
 * @param maxJsonBodySize  largest JSON request body the REST transcoder reads (413 above it); raw byte uploads
 *                         stream through and are bounded by the service they go to
 */
@Validated
@ConfigurationProperties("celluler.gateway")
public record GatewayProperties(@NotEmpty Map<String, String> backends, @NotNull Duration unaryDeadline,
        @NotNull DataSize maxJsonBodySize) {

    /** The backend that serves a proto package {@code celluler.<area>.v1}, or null when none is configured. */
    public String backendFor(String protoPackage) {
        String[] parts = protoPackage.split("\\.");
        if (parts.length < 3 || !parts[0].equals("celluler")) {
            return null;
        }
        return backends.containsKey(parts[1] + "-service") ? parts[1] + "-service" : null;
    }
}
