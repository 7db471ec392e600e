package io.celluler.gateway;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class GatewayServiceApplication {

    public static final String NAME = "gateway-service";

    public static void main(String[] args) {
        CellulerApplication.run(GatewayServiceApplication.class, NAME, args);
    }
}
