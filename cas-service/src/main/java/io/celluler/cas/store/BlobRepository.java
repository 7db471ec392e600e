package io.celluler.cas.store;

import org.springframework.data.jpa.repository.JpaRepository;

public interface BlobRepository extends JpaRepository<BlobEntity, String> {
}
