package io.celluler.gateway.transcode;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/** The REST API under {@code /v1/**} and its OpenAPI document at {@code /v3/api-docs}. */
@Configuration(proxyBeanMethods = false)
public class RestRoutesConfiguration {

    @Bean
    RouterFunction<ServerResponse> restApi(RestTranscoder transcoder, OpenApiGenerator openApi) {
        String document = openApi.document(transcoder.routes());
        return RouterFunctions.route(RequestPredicates.path("/v1/**"), transcoder::handle)
                .andRoute(RequestPredicates.GET("/v3/api-docs"),
                        r -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(document));
    }
}
