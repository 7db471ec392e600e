package io.celluler.consensus.store;

import java.util.Optional;

import org.springframework.data.jpa.repository.JpaRepository;

public interface TxLocationRepository extends JpaRepository<TxLocationEntity, TxLocationEntity.Key> {

    /** The first place the transaction was committed (a faulty leader may have ordered it again later). */
    Optional<TxLocationEntity> findFirstByTxIdOrderByHeightAsc(String txId);
}
