package io.celluler.cas.store;

import java.time.Instant;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** Metadata of one stored blob; the bytes are in the {@link BlobFileStore} under the same hash. */
@Entity
@Table(name = "blob")
public class BlobEntity {

    @Id
    @Column(name = "sha256", length = 64, nullable = false, updatable = false)
    private String sha256;

    @Column(name = "size_bytes", nullable = false, updatable = false)
    private long sizeBytes;

    @Column(name = "media_type", length = 255)
    private String mediaType;

    @Column(name = "created_at", nullable = false, updatable = false)
    private Instant createdAt;

    protected BlobEntity() {
    }

    public BlobEntity(String sha256, long sizeBytes, String mediaType, Instant createdAt) {
        this.sha256 = sha256;
        this.sizeBytes = sizeBytes;
        this.mediaType = mediaType;
        this.createdAt = createdAt;
    }

    public String sha256() {
        return sha256;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public String mediaType() {
        return mediaType;
    }

    public Instant createdAt() {
        return createdAt;
    }
}
