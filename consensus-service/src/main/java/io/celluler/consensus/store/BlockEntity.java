package io.celluler.consensus.store;

import java.time.Instant;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** One committed block of the ledger (written by {@link Ledger#persist}, read through {@link BlockRepository}). */
@Entity
@Table(name = "consensus_block")
public class BlockEntity {

    @Id
    @Column(name = "height", nullable = false, updatable = false)
    private long height;

    @Column(name = "block_hash", length = 64, nullable = false, updatable = false)
    private String blockHash;

    @Column(name = "parent_hash", length = 64, nullable = false, updatable = false)
    private String parentHash;

    @Column(name = "view_number", nullable = false, updatable = false)
    private long view;

    @Column(name = "tx_count", nullable = false, updatable = false)
    private int txCount;

    @Column(name = "proposer", length = 64, nullable = false, updatable = false)
    private String proposer;

    @Column(name = "proposed_at", nullable = false, updatable = false)
    private Instant proposedAt;

    @Column(name = "committed_at", nullable = false, updatable = false)
    private Instant committedAt;

    @Column(name = "block_data", nullable = false, updatable = false)
    private byte[] blockData;

    @Column(name = "finality", nullable = false, updatable = false)
    private byte[] finality;

    protected BlockEntity() {
    }

    public long height() {
        return height;
    }

    public String blockHash() {
        return blockHash;
    }

    public Instant committedAt() {
        return committedAt;
    }

    /** The block with its transactions, in the wire encoding ({@code celluler.validator.v1.Block}). */
    public byte[] blockData() {
        return blockData;
    }

    /** Header, certificate and commit chain ({@code celluler.consensus.v1.FinalityProof} without the set). */
    public byte[] finality() {
        return finality;
    }
}
