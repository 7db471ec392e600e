package io.celluler.core.grpc;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.grpc.server.GlobalServerInterceptor;

/** gRPC conventions shared by every service. */
@AutoConfiguration
public class CellulerGrpcAutoConfiguration {

    /**
     * Names the roadmap area in UNIMPLEMENTED answers; a service sets {@code celluler.roadmap} to say which
     * issue area builds its RPCs.
     */
    @Bean
    @GlobalServerInterceptor
    @ConditionalOnProperty("celluler.roadmap")
    RoadmapInterceptor roadmapInterceptor(@Value("${spring.application.name}") String serviceName,
            @Value("${celluler.roadmap}") String roadmap) {
        return new RoadmapInterceptor(serviceName, roadmap);
    }
}
