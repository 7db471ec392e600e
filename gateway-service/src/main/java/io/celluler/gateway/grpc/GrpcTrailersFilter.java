package io.celluler.gateway.grpc;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.AbstractServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.web.server.ServerWebExchange;
import reactor.netty.http.client.HttpClientResponse;
import reactor.netty.http.server.HttpServerResponse;

/**
 * Carries a gRPC backend's trailers to the client unchanged.
 *
 * <p>SCG's own {@code GRPCResponseHeadersFilter} forwards only {@code grpc-status} and {@code grpc-message},
 * so {@code grpc-status-details-bin} (the {@code google.rpc.Status} with its {@code BadRequest} field
 * violations) and any custom trailer were lost. This filter runs after it (lowest precedence) and replaces its
 * trailer writer with one that copies every trailer the backend sent. A "trailers-only" answer (an error
 * before any message, where the status travels in the backend's headers) has its status fields moved from
 * the forwarded headers into the trailers, where the client reads them.
 */
public class GrpcTrailersFilter implements HttpHeadersFilter, Ordered {

    static final List<String> STATUS_FIELDS = List.of("grpc-status", "grpc-message", "grpc-status-details-bin");

    @Override
    public HttpHeaders filter(HttpHeaders input, ServerWebExchange exchange) {
        String contentType = exchange.getRequest().getHeaders().getFirst(HttpHeaders.CONTENT_TYPE);
        HttpServerResponse server = nativeResponse(exchange.getResponse());
        if (contentType == null || !contentType.startsWith("application/grpc") || server == null) {
            return input;
        }
        HttpHeaders forwarded = new HttpHeaders();
        Map<String, String> statusInHeaders = new LinkedHashMap<>();
        input.forEach((name, values) -> {
            if (STATUS_FIELDS.contains(name.toLowerCase())) {
                statusInHeaders.put(name.toLowerCase(), values.get(0));
            } else {
                forwarded.addAll(name, values);
            }
        });
        AtomicReference<io.netty.handler.codec.http.HttpHeaders> backendTrailers = new AtomicReference<>();
        HttpClientResponse client = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_ATTR);
        if (client != null) {
            client.trailerHeaders().subscribe(backendTrailers::set);
        }
        server.trailerHeaders(trailers -> {
            statusInHeaders.forEach(trailers::set);
            io.netty.handler.codec.http.HttpHeaders fromBackend = backendTrailers.get();
            if (fromBackend != null) {
                fromBackend.forEach(e -> trailers.add(e.getKey(), e.getValue()));
            }
        });
        return forwarded;
    }

    private static HttpServerResponse nativeResponse(ServerHttpResponse response) {
        ServerHttpResponse r = response;
        while (r instanceof ServerHttpResponseDecorator d) {
            r = d.getDelegate();
        }
        return r instanceof AbstractServerHttpResponse a && a.getNativeResponse() instanceof HttpServerResponse h
                ? h : null;
    }

    @Override
    public boolean supports(Type type) {
        return type == Type.RESPONSE;
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
