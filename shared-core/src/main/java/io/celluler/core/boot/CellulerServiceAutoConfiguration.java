package io.celluler.core.boot;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.context.annotation.Bean;

/** Conventions every service shares at start-up. */
@AutoConfiguration
public class CellulerServiceAutoConfiguration {

    @Bean
    static DataDirPostProcessor dataDirPostProcessor() {
        return new DataDirPostProcessor();
    }
}
