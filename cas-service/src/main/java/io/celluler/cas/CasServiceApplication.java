package io.celluler.cas;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class CasServiceApplication {

    public static final String NAME = "cas-service";

    public static void main(String[] args) {
        CellulerApplication.run(CasServiceApplication.class, NAME, args);
    }
}
