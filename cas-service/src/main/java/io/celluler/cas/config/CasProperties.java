package io.celluler.cas.config;

import java.nio.file.Path;

import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * cas-service settings ({@code celluler.cas.*}).
 *
 * @param blobDir     where blob files live: {@code <blobDir>/sha256/<2 hex>/<2 hex>/<64 hex>}, with a
 *                    {@code tmp/} folder beside for uploads in progress (same filesystem, so the final rename
 *                    is atomic)
 * @param maxBlobSize the largest blob a Put accepts; a larger one is refused with RESOURCE_EXHAUSTED and
 *                    nothing is kept
 * @param readChunkSize how many bytes each Get response message carries (at most 2 MiB: well inside the
 *                    4 MiB inbound limit of default gRPC clients, with room for the metadata of the first)
 */
@Validated
@ConfigurationProperties("celluler.cas")
public record CasProperties(@NotNull Path blobDir, @NotNull DataSize maxBlobSize, @NotNull DataSize readChunkSize) {

    public CasProperties {
        if (maxBlobSize != null && maxBlobSize.toBytes() < 1) {
            throw new IllegalArgumentException("celluler.cas.max-blob-size must be at least 1 byte");
        }
        if (readChunkSize != null && (readChunkSize.toBytes() < 1 || readChunkSize.toBytes() > 2L * 1024 * 1024)) {
            throw new IllegalArgumentException("celluler.cas.read-chunk-size must be between 1 byte and 2MB");
        }
    }
}
