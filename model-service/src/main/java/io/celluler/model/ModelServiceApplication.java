package io.celluler.model;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class ModelServiceApplication {

    public static final String NAME = "model-service";

    public static void main(String[] args) {
        CellulerApplication.run(ModelServiceApplication.class, NAME, args);
    }
}
