package io.celluler.network.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

import org.springframework.stereotype.Component;

/** Makes sure the service's data directory exists and is writable before anything uses it. */
@Component
class DataDirectory {

    DataDirectory(NetworkProperties properties) {
        try {
            Files.createDirectories(properties.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("celluler.network.data-dir: cannot create " + properties.dataDir(), e);
        }
        if (!Files.isWritable(properties.dataDir())) {
            throw new IllegalStateException("celluler.network.data-dir: " + properties.dataDir() + " is not writable");
        }
    }
}
