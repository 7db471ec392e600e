package io.celluler.gateway.transcode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * The REST API under {@code /v1/**}, its OpenAPI document at {@code /v3/api-docs} and a Swagger UI page over
 * that document at {@code /swagger-ui.html} (the Swagger UI webjar's files under {@code /webjars/}).
 */
@Configuration(proxyBeanMethods = false)
public class RestRoutesConfiguration {

    @Bean
    RouterFunction<ServerResponse> restApi(RestTranscoder transcoder, OpenApiGenerator openApi) {
        String document = openApi.document(transcoder.routes());
        String swaggerUi = swaggerUiPage(swaggerUiVersion());
        return RouterFunctions.route(RequestPredicates.path("/v1/**"), transcoder::handle)
                .andRoute(RequestPredicates.GET("/v3/api-docs"),
                        r -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(document))
                .andRoute(RequestPredicates.GET("/swagger-ui.html"),
                        r -> ServerResponse.ok().contentType(MediaType.TEXT_HTML).bodyValue(swaggerUi));
    }

    /** The version of the Swagger UI webjar on the classpath (its files live under a versioned folder). */
    static String swaggerUiVersion() {
        try (InputStream in = RestRoutesConfiguration.class.getClassLoader()
                .getResourceAsStream("META-INF/maven/org.webjars/swagger-ui/pom.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "missing");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Swagger UI webjar's version", e);
        }
    }

    private static String swaggerUiPage(String version) {
        String base = "/webjars/swagger-ui/" + version + "/";
        return """
                <!doctype html>
                <html lang="en">
                <head>
                  <meta charset="utf-8">
                  <title>Celluler API</title>
                  <link rel="stylesheet" href="%1$sswagger-ui.css">
                </head>
                <body>
                  <div id="swagger-ui"></div>
                  <script src="%1$sswagger-ui-bundle.js"></script>
                  <script>
                    window.ui = SwaggerUIBundle({url: "/v3/api-docs", dom_id: "#swagger-ui", deepLinking: true});
                  </script>
                </body>
                </html>
                """.formatted(base);
    }
}
