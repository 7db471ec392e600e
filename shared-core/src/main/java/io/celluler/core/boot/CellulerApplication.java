package io.celluler.core.boot;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts one Celluler service with the conventions every service shares.
 *
 * <p>Each service reads its own configuration file, {@code <service-name>.yml} (not {@code application.yml}),
 * so that all nine services can live on one classpath: the all-in-one cell ({@code celluler up}) runs each
 * of them in its own Spring context inside one JVM. The shared defaults below are Spring "default
 * properties": the lowest precedence, so a service's own file, the environment and the command line
 * all override them.
 */
public final class CellulerApplication {

    private CellulerApplication() {
    }

    /** Runs a service as its own process ({@code java -jar <service>.jar}). */
    public static ConfigurableApplicationContext run(Class<?> mainClass, String serviceName, String... args) {
        return builder(mainClass, serviceName).run(args);
    }

    /** A builder with the shared defaults applied; the all-in-one cell adds its own arguments. */
    public static SpringApplicationBuilder builder(Class<?> mainClass, String serviceName) {
        WebApplicationType type = "gateway-service".equals(serviceName)
                ? WebApplicationType.REACTIVE : WebApplicationType.SERVLET;
        return new SpringApplicationBuilder(mainClass)
                .web(type)
                .properties(defaults(serviceName));
    }

    /** The defaults every service starts from. */
    public static Map<String, Object> defaults(String serviceName) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("spring.application.name", serviceName);
        p.put("spring.config.name", serviceName);
        // the data directory of the cell; each service keeps its state under <data-dir>/<service>
        p.put("celluler.data-dir", "./.celluler");
        // structured JSON logs (Elastic Common Schema) on the console
        p.put("logging.structured.format.console", "ecs");
        p.put("logging.structured.format.file", "ecs");
        // actuator: health (with liveness/readiness groups) and the Prometheus scrape
        p.put("management.endpoints.web.exposure.include", "health,info,prometheus,metrics");
        p.put("management.endpoint.health.probes.enabled", "true");
        // component statuses (db UP/DOWN...) but no details (database product, disk paths) to anonymous callers
        p.put("management.endpoint.health.show-components", "always");
        p.put("management.endpoint.health.show-details", "never");
        p.put("management.metrics.tags.service", serviceName);
        // gRPC: the native Netty server on its own port, with health and reflection
        p.put("spring.grpc.server.servlet.enabled", "false");
        p.put("spring.grpc.server.reflection.enabled", "true");
        p.put("spring.grpc.server.health.enabled", "true");
        p.put("spring.grpc.server.shutdown-grace-period", "5s");
        // each service owns its migrations, so that several services can share a classpath
        p.put("spring.flyway.locations", "classpath:db/migration/" + serviceName);
        if (!"gateway-service".equals(serviceName)) {
            // in the all-in-one cell the gateway's classes share the classpath: only the gateway runs it
            p.put("spring.cloud.gateway.server.webflux.enabled", "false");
        }
        // no service registry: the cell's services are addressed by configuration
        p.put("spring.cloud.discovery.enabled", "false");
        p.put("server.shutdown", "graceful");
        p.put("spring.lifecycle.timeout-per-shutdown-phase", "5s");
        return p;
    }
}
