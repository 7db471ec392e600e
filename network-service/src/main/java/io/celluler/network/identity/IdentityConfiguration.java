package io.celluler.network.identity;

import java.io.IOException;
import java.security.SecureRandom;

import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.CellIdentityStore;
import io.celluler.network.config.NetworkProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The cell's identity: its Ed25519 key, created under the data dir on first start and kept from then on. */
@Configuration(proxyBeanMethods = false)
public class IdentityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(IdentityConfiguration.class);

    @Bean
    CellIdentity cellIdentity(NetworkProperties properties) throws IOException {
        CellIdentity identity = CellIdentityStore.loadOrCreate(properties.dataDir().resolve("identity"),
                new SecureRandom());
        log.info("cell id {}", identity.cellId());
        return identity;
    }
}
