package io.celluler.core.boot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** Creates the data folder of every {@link ServiceDataDir} properties record when it is bound. */
public class DataDirPostProcessor implements BeanPostProcessor {

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof ServiceDataDir owner && owner.dataDir() != null) {
            ensureWritable(owner.dataDir(), keyOf(owner));
        }
        return bean;
    }

    static void ensureWritable(Path dir, String key) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(key + ": cannot create " + dir, e);
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalStateException(key + ": " + dir + " is not writable");
        }
    }

    private static String keyOf(ServiceDataDir owner) {
        ConfigurationProperties cp = owner.getClass().getAnnotation(ConfigurationProperties.class);
        String prefix = cp == null ? "" : (cp.prefix().isEmpty() ? cp.value() : cp.prefix());
        return prefix.isEmpty() ? "data-dir" : prefix + ".data-dir";
    }
}
