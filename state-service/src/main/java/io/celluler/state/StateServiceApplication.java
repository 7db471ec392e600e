package io.celluler.state;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class StateServiceApplication {

    public static final String NAME = "state-service";

    public static void main(String[] args) {
        CellulerApplication.run(StateServiceApplication.class, NAME, args);
    }
}
