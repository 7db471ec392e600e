package io.celluler.data;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class DataServiceApplication {

    public static final String NAME = "data-service";

    public static void main(String[] args) {
        CellulerApplication.run(DataServiceApplication.class, NAME, args);
    }
}
