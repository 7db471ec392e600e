package io.celluler.metrics;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class MetricsServiceApplication {

    public static final String NAME = "metrics-service";

    public static void main(String[] args) {
        CellulerApplication.run(MetricsServiceApplication.class, NAME, args);
    }
}
