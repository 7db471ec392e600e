package io.celluler.network;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class NetworkServiceApplication {

    public static final String NAME = "network-service";

    public static void main(String[] args) {
        CellulerApplication.run(NetworkServiceApplication.class, NAME, args);
    }
}
