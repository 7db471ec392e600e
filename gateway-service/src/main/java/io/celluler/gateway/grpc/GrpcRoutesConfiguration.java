package io.celluler.gateway.grpc;

import java.util.ArrayList;
import java.util.List;

import io.celluler.gateway.config.GatewayProperties;
import io.celluler.gateway.transcode.ApiDescriptors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.gateway.config.HttpClientProperties;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.cloud.gateway.filter.NettyWriteResponseFilter;
import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.cloud.gateway.route.RouteLocator;
import org.springframework.cloud.gateway.route.builder.RouteLocatorBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import reactor.netty.http.client.HttpClient;

/**
 * gRPC pass-through: one route per gRPC service of the contracts ({@code /celluler.cas.v1.CasService/*} →
 * cas-service), forwarded over h2c so that every kind of call — unary, server, client and bidi streams — and
 * its status trailers pass unchanged. {@code celluler.p2p} (cell-to-cell wire) is never exposed.
 *
 * <p>The stock routing filter is switched off
 * ({@code spring.cloud.gateway.server.webflux.global-filter.netty-routing.enabled=false}); that switch also
 * removes the write-response filter, so both are declared here.
 */
@Configuration(proxyBeanMethods = false)
public class GrpcRoutesConfiguration {

    private static final Logger log = LoggerFactory.getLogger(GrpcRoutesConfiguration.class);

    @Bean
    ApiDescriptors apiDescriptors() {
        return ApiDescriptors.load();
    }

    @Bean
    NettyRoutingFilter h2cRoutingFilter(HttpClient httpClient, ObjectProvider<List<HttpHeadersFilter>> headersFilters,
            HttpClientProperties properties) {
        return new H2cRoutingFilter(httpClient, headersFilters, properties);
    }

    @Bean
    GrpcErrorFilter grpcErrorFilter() {
        return new GrpcErrorFilter();
    }

    @Bean
    GrpcTrailersFilter grpcTrailersFilter() {
        return new GrpcTrailersFilter();
    }

    @Bean
    NettyWriteResponseFilter nettyWriteResponseFilter(
            org.springframework.cloud.gateway.config.GatewayProperties gatewayProperties,
            ObjectProvider<List<HttpHeadersFilter>> headersFilters) {
        List<MediaType> streaming = new ArrayList<>(gatewayProperties.getStreamingMediaTypes());
        // flush every gRPC frame as it comes: server streams must not be held back
        streaming.add(MediaType.parseMediaType("application/grpc"));
        return new NettyWriteResponseFilter(streaming, headersFilters);
    }

    @Bean
    RouteLocator grpcRoutes(RouteLocatorBuilder builder, ApiDescriptors api, GatewayProperties properties) {
        RouteLocatorBuilder.Builder routes = builder.routes();
        int count = 0;
        for (var service : api.celluleServices()) {
            String pkg = service.getFile().getPackage();
            String backend = properties.backendFor(pkg);
            if (backend == null || pkg.startsWith("celluler.p2p.")) {
                continue;
            }
            String uri = "http://" + properties.backends().get(backend);
            routes.route("grpc-" + service.getFullName(), r -> r
                    .path("/" + service.getFullName() + "/*")
                    .and().header("content-type", "application/grpc.*")
                    .metadata(H2cRoutingFilter.H2C_METADATA, true)
                    .uri(uri));
            count++;
        }
        log.info("gRPC pass-through: {} services routed", count);
        return routes.build();
    }
}
