package io.celluler.consensus.store;

import java.io.Serializable;
import java.util.Objects;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

/** Where a committed transaction is: its block's height and its position there. */
@Entity
@Table(name = "consensus_tx")
@IdClass(TxLocationEntity.Key.class)
public class TxLocationEntity {

    @Id
    @Column(name = "height", nullable = false, updatable = false)
    private long height;

    @Id
    @Column(name = "position", nullable = false, updatable = false)
    private int position;

    @Column(name = "tx_id", length = 64, nullable = false, updatable = false)
    private String txId;

    protected TxLocationEntity() {
    }

    public long height() {
        return height;
    }

    public int position() {
        return position;
    }

    public String txId() {
        return txId;
    }

    public static class Key implements Serializable {
        private long height;
        private int position;

        public Key() {
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.height == height && k.position == position;
        }

        @Override
        public int hashCode() {
            return Objects.hash(height, position);
        }
    }
}
