package io.celluler.gateway.grpc;

import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.gateway.config.HttpClientProperties;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.web.server.ServerWebExchange;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;

/**
 * Spring Cloud Gateway's routing filter, taught to speak HTTP/2 over cleartext (h2c, prior knowledge) to routes
 * marked {@code h2c: true} in their metadata. SCG's client only negotiates HTTP/2 over TLS, so to a plaintext
 * gRPC backend it would send HTTP/1.1 and the call would fail; gRPC needs HTTP/2 end to end for streams and
 * trailers. Other routes keep the stock client.
 */
public class H2cRoutingFilter extends NettyRoutingFilter {

    public static final String H2C_METADATA = "h2c";

    private final HttpClient h2c;

    public H2cRoutingFilter(HttpClient httpClient, ObjectProvider<List<HttpHeadersFilter>> headersFilters,
            HttpClientProperties properties) {
        super(httpClient, headersFilters, properties);
        this.h2c = httpClient.protocol(HttpProtocol.H2C);
    }

    @Override
    protected HttpClient getHttpClient(Route route, ServerWebExchange exchange) {
        if (Boolean.TRUE.equals(route.getMetadata().get(H2C_METADATA))) {
            return h2c;
        }
        return super.getHttpClient(route, exchange);
    }
}
