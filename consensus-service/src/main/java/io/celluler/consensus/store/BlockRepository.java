package io.celluler.consensus.store;

import java.util.List;
import java.util.Optional;

import org.springframework.data.domain.Pageable;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;

public interface BlockRepository extends JpaRepository<BlockEntity, Long> {

    Optional<BlockEntity> findByBlockHash(String blockHash);

    @Query("select max(b.height) from BlockEntity b")
    Optional<Long> maxHeight();

    List<BlockEntity> findByHeightGreaterThanEqualOrderByHeightAsc(long fromHeight, Pageable page);

    List<BlockEntity> findByHeightLessThanEqualOrderByHeightDesc(long toHeight, Pageable page);
}
