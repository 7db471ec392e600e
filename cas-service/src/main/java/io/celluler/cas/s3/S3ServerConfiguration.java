package io.celluler.cas.s3;

import org.eclipse.jetty.ee11.servlet.ServletContextHandler;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.springframework.boot.jetty.JettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * cas-service's HTTP port (the S3 API and actuator) runs on Jetty, not on Tomcat like the other services
 * ({@code celluler.web-server: jetty} in cas-service.yml; {@code WebServerChoice} keeps the choice per service in
 * the all-in-one cell).
 *
 * <p>Why: S3 clients send {@code Expect: 100-continue} with every upload, and Tomcat answers it with the bare status
 * line {@code HTTP/1.1 100} (no reason phrase, hard-coded). botocore before 1.31 (the aws CLI 2.9 that Debian 12
 * packages) does not take that for a 100 Continue, reads it as the final answer and drops the connection: every
 * upload of Debian's {@code aws s3 cp} failed. Jetty answers {@code HTTP/1.1 100 Continue}, and only once the
 * body is read, so an upload refused from its headers (a bad signature, EntityTooLarge, a missing bucket) gets
 * its error before the client sends the body.
 *
 * <p>URIs are taken as S3 clients send them: an encoded {@code /} or {@code %} in a key is part of the key
 * ({@link UriCompliance#LEGACY}), never a reason to refuse the request; header values reach the signature check
 * exactly as sent.
 */
@Configuration(proxyBeanMethods = false)
public class S3ServerConfiguration {

    @Bean
    JettyServerCustomizer s3Requests() {
        return server -> {
            for (Connector c : server.getConnectors()) {
                HttpConnectionFactory http = c.getConnectionFactory(HttpConnectionFactory.class);
                if (http != null) {
                    http.getHttpConfiguration().setUriCompliance(UriCompliance.LEGACY);
                    // signatures cover header values byte for byte: Jetty's header cache would otherwise hand out
                    // its own spelling of a known value ("charset=utf-8" for a client's "charset=UTF-8")
                    http.getHttpConfiguration().setHeaderCacheCaseSensitive(true);
                    http.getHttpConfiguration().setSendServerVersion(false);
                }
            }
            server.getDescendants(ServletContextHandler.class)
                    .forEach(h -> h.getServletHandler().setDecodeAmbiguousURIs(true));
        };
    }
}
