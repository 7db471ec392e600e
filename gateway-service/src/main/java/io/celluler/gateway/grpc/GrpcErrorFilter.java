package io.celluler.gateway.grpc;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;

import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * When a gRPC call cannot reach its service (refused, reset, timed out), answers the way a gRPC server would —
 * HTTP 200, {@code content-type: application/grpc}, {@code grpc-status} UNAVAILABLE (or DEADLINE_EXCEEDED) and
 * a message naming the service — instead of Spring's HTTP 500 page, which a gRPC client can only read as
 * UNKNOWN. UNAVAILABLE is what clients retry on.
 */
public class GrpcErrorFilter implements GlobalFilter, Ordered {

    private static final Logger log = LoggerFactory.getLogger(GrpcErrorFilter.class);

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
        String contentType = exchange.getRequest().getHeaders().getFirst(HttpHeaders.CONTENT_TYPE);
        if (contentType == null || !contentType.startsWith("application/grpc")) {
            return chain.filter(exchange);
        }
        return chain.filter(exchange).onErrorResume(e -> {
            ServerHttpResponse response = exchange.getResponse();
            if (response.isCommitted()) {
                return Mono.error(e);
            }
            Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
            String backend = route == null ? "the service" : route.getUri().getAuthority();
            Status status = isTimeout(e)
                    ? Status.DEADLINE_EXCEEDED.withDescription("no answer in time from " + backend)
                    : Status.UNAVAILABLE.withDescription("cannot reach " + backend + ": " + e.getMessage());
            log.warn("gRPC {} -> {}: {}", exchange.getRequest().getPath(), status.getCode(), status.getDescription());
            response.setStatusCode(HttpStatus.OK);
            HttpHeaders headers = response.getHeaders();
            headers.set(HttpHeaders.CONTENT_TYPE, "application/grpc");
            headers.set("grpc-status", String.valueOf(status.getCode().value()));
            headers.set("grpc-message", URLEncoder.encode(status.getDescription(), StandardCharsets.UTF_8)
                    .replace("+", "%20"));
            return response.setComplete();
        });
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t instanceof org.springframework.cloud.gateway.support.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int getOrder() {
        // around the routing filter, inside the write-response filter
        return 0;
    }
}
