package io.celluler.cas.store;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

import io.celluler.cas.config.CasProperties;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The blob store: bytes in the {@link BlobFileStore}, metadata in the database. A blob is visible (Stat, Get)
 * once its metadata row is committed, and the row is written only after the bytes are durable under their
 * address.
 */
@Component
public class BlobStore {

    private final BlobFileStore files;
    private final BlobRepository repository;
    private final TransactionTemplate tx;

    public BlobStore(CasProperties properties, BlobRepository repository, TransactionTemplate tx) {
        this.files = new BlobFileStore(properties.blobDir());
        this.repository = repository;
        this.tx = tx;
    }

    public BlobFileStore.Upload begin() throws IOException {
        return files.begin();
    }

    /** The outcome of a put: the stored blob, and whether its bytes were already there. */
    public record Stored(BlobEntity blob, boolean alreadyExisted) {
    }

    /**
     * Makes a finished upload durable and visible. Idempotent: the same bytes put twice give one blob,
     * and the metadata of the first put.
     */
    public Stored commit(BlobFileStore.Upload upload, String mediaType, Instant now) throws IOException {
        String sha256 = upload.finish();
        boolean newFile = upload.commit();
        try {
            return tx.execute(status -> {
                Optional<BlobEntity> existing = repository.findById(sha256);
                if (existing.isPresent()) {
                    return new Stored(existing.get(), true);
                }
                BlobEntity created = repository.saveAndFlush(
                        new BlobEntity(sha256, upload.sizeBytes(), mediaType,
                                // the databases keep microseconds: answer now what a later read will answer
                                now.truncatedTo(ChronoUnit.MICROS)));
                return new Stored(created, !newFile);
            });
        } catch (DataIntegrityViolationException concurrentPutOfTheSameBytes) {
            return new Stored(repository.findById(sha256).orElseThrow(() -> concurrentPutOfTheSameBytes), true);
        }
    }

    public Optional<BlobEntity> find(String sha256) {
        return repository.findById(sha256);
    }

    public InputStream open(String sha256) throws IOException {
        return files.open(sha256);
    }

    public BlobFileStore files() {
        return files;
    }
}
