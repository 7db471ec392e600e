package io.celluler.consensus;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class ConsensusServiceApplication {

    public static final String NAME = "consensus-service";

    public static void main(String[] args) {
        CellulerApplication.run(ConsensusServiceApplication.class, NAME, args);
    }
}
