package io.celluler.catalog;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class CatalogServiceApplication {

    public static final String NAME = "catalog-service";

    public static void main(String[] args) {
        CellulerApplication.run(CatalogServiceApplication.class, NAME, args);
    }
}
