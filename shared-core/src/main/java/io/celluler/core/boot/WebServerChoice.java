package io.celluler.core.boot;

import org.springframework.boot.autoconfigure.AutoConfigurationImportFilter;
import org.springframework.boot.autoconfigure.AutoConfigurationMetadata;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;

/**
 * Which embedded web server a service runs when several are on the classpath, as in the all-in-one cell where the
 * nine services share one: Tomcat (Reactor Netty for the gateway) unless the service sets
 * {@code celluler.web-server=jetty} (cas-service does: its S3 API needs Jetty's answer to
 * {@code Expect: 100-continue}). Spring Boot would otherwise pick by the order of its auto-configurations, and Jetty
 * sorts first: one service's dependency would change every other service's server.
 */
public class WebServerChoice implements AutoConfigurationImportFilter, EnvironmentAware {

    static final String PROPERTY = "celluler.web-server";
    private static final String JETTY = "org.springframework.boot.jetty.autoconfigure.";
    private static final String TOMCAT = "org.springframework.boot.tomcat.autoconfigure.";

    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public boolean[] match(String[] autoConfigurationClasses, AutoConfigurationMetadata metadata) {
        boolean jetty = "jetty".equalsIgnoreCase(environment == null ? null : environment.getProperty(PROPERTY));
        String unwanted = jetty ? TOMCAT : JETTY;
        boolean[] keep = new boolean[autoConfigurationClasses.length];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = autoConfigurationClasses[i] == null || !autoConfigurationClasses[i].startsWith(unwanted);
        }
        return keep;
    }
}
