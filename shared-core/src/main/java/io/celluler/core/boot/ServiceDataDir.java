package io.celluler.core.boot;

import java.nio.file.Path;

/**
 * A service's {@code @ConfigurationProperties} record that names the folder where the service keeps its state.
 * {@link DataDirPostProcessor} creates the folder, and checks it is writable, as soon as the record is bound:
 * before anything that depends on it starts, and with an error naming the configuration key.
 */
public interface ServiceDataDir {

    Path dataDir();
}
