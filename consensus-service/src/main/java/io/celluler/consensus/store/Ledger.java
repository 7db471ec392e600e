package io.celluler.consensus.store;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.consensus.chain.Wire;
import io.celluler.consensus.engine.Messages.Block;
import io.celluler.consensus.engine.SafetyState;
import io.celluler.proto.consensus.v1.FinalityProof;
import org.springframework.data.domain.PageRequest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The validator's durable state: committed blocks (hash-chained, each with its finality proof and an index of its
 * transactions), the block tree above them and the safety state. {@link #persist} writes one engine step in one
 * database transaction, before the step's messages leave (DESIGN §6: persist, then send, then apply).
 *
 * <p>Writes go through JDBC batches; block reads through JPA repositories. Where each transaction is, by id, is the
 * {@link TxIndex} (a log-structured index in the same database, written off the consensus loop).
 */
@Component
public class Ledger {

    /** A committed block and its finality proof (header, certificate and commit chain; no validator set). */
    public record Committed(Block block, FinalityProof finality) {
    }

    /** A stored block, decoded. */
    public record Stored(Block block, FinalityProof finality, Instant committedAt) {
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Ledger.class);

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final BlockRepository blocks;
    private final TxIndex txIndex;

    public Ledger(JdbcTemplate jdbc, TransactionTemplate tx, BlockRepository blocks) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.blocks = blocks;
        this.txIndex = new TxIndex(jdbc, tx);
    }

    /**
     * Opens the transaction index and indexes the committed blocks above what its runs cover (after a crash: the
     * last memtable; after the V2 migration: the whole ledger). Call once, before the first {@link #persist}.
     */
    public void openIndex() {
        long covered = txIndex.open();
        long head = headHeight();
        if (covered < head) {
            log.info("indexing the transactions of blocks {} to {}", covered + 1, head);
        }
        for (long next = covered + 1; next <= head; ) {
            List<Stored> page = from(next, 64);
            if (page.isEmpty()) {
                break;
            }
            txIndex.add(page.stream().map(Stored::block).toList());
            next = page.get(page.size() - 1).block().height() + 1;
        }
    }

    @jakarta.annotation.PreDestroy
    public void close() {
        txIndex.close();
    }

    /**
     * Writes one engine step atomically: the safety state (when not null), the blocks added to the tree, and the
     * committed blocks (which leave the tree).
     */
    public void persist(SafetyState safety, List<Block> tree, List<Committed> commits, Instant now) {
        if (safety == null && tree.isEmpty() && commits.isEmpty()) {
            return;
        }
        Timestamp at = Timestamp.from(now);
        tx.executeWithoutResult(status -> {
            if (safety != null) {
                byte[] state = Wire.encode(safety);
                if (jdbc.update("UPDATE consensus_safety SET state = ?, updated_at = ? WHERE id = 1", state, at) == 0) {
                    jdbc.update("INSERT INTO consensus_safety (id, state, updated_at) VALUES (1, ?, ?)", state, at);
                }
            }
            if (!tree.isEmpty()) {
                List<Object[]> rows = new ArrayList<>(tree.size());
                List<Object[]> ids = new ArrayList<>(tree.size());
                for (Block b : tree) {
                    rows.add(new Object[] {b.id(), b.height(), Wire.block(b, true).toByteArray()});
                    ids.add(new Object[] {b.id()});
                }
                // a block pruned from the engine's tree (a losing fork) may come again: keep one row
                jdbc.batchUpdate("DELETE FROM consensus_tree_block WHERE block_id = ?", ids);
                jdbc.batchUpdate("INSERT INTO consensus_tree_block (block_id, height, block_data) VALUES (?, ?, ?)", rows);
            }
            if (!commits.isEmpty()) {
                List<Object[]> blockRows = new ArrayList<>(commits.size());
                long top = 0;
                for (Committed c : commits) {
                    Block b = c.block();
                    blockRows.add(new Object[] {b.height(), b.id(), b.parentId(), b.round(), b.txs().size(), b.proposer(),
                            Timestamp.from(Instant.ofEpochMilli(b.proposedAtMillis())), at,
                            Wire.block(b, true).toByteArray(), c.finality().toByteArray()});
                    top = Math.max(top, b.height());
                }
                jdbc.batchUpdate("INSERT INTO consensus_block (height, block_hash, parent_hash, view_number, tx_count, "
                        + "proposer, proposed_at, committed_at, block_data, finality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        blockRows);
                jdbc.update("DELETE FROM consensus_tree_block WHERE height <= ?", top);
            }
        });
        if (!commits.isEmpty()) {
            txIndex.add(commits.stream().map(Committed::block).toList());
        }
    }

    /** Height of the last committed block; 0 before any. */
    public long headHeight() {
        return blocks.maxHeight().orElse(0L);
    }

    public Optional<Stored> byHeight(long height) {
        return blocks.findById(height).map(Ledger::decode);
    }

    public Optional<Stored> byHash(String blockHash) {
        return blocks.findByBlockHash(blockHash).map(Ledger::decode);
    }

    /** Up to {@code limit} committed blocks from {@code fromHeight} on, in height order. */
    public List<Stored> from(long fromHeight, int limit) {
        return blocks.findByHeightGreaterThanEqualOrderByHeightAsc(fromHeight, PageRequest.ofSize(limit)).stream()
                .map(Ledger::decode).toList();
    }

    /** Up to {@code limit} committed blocks from {@code toHeight} down, newest first. */
    public List<Stored> downFrom(long toHeight, int limit) {
        return blocks.findByHeightLessThanEqualOrderByHeightDesc(toHeight, PageRequest.ofSize(limit)).stream()
                .map(Ledger::decode).toList();
    }

    /** The last {@code count} committed blocks, oldest first (what the engine starts from). */
    public List<Block> tail(int count) {
        List<Stored> newestFirst = downFrom(headHeight(), count);
        List<Block> out = new ArrayList<>(newestFirst.size());
        newestFirst.forEach(s -> out.add(s.block()));
        Collections.reverse(out);
        return out;
    }

    /** True once the transaction (a 64-hex id) is in a committed block: the admission's duplicate check. */
    public boolean isCommitted(String txId) {
        return txIndex.contains(txId);
    }

    /** Where a transaction (a 64-hex id) was committed first. */
    public Optional<TxIndex.Location> locate(String txId) {
        return txIndex.find(txId);
    }

    /** The block tree above the committed tip, as persisted. */
    public List<Block> tree() {
        return jdbc.query("SELECT block_data FROM consensus_tree_block ORDER BY height",
                (rs, i) -> decodeBlock(rs.getBytes(1)));
    }

    /** The persisted safety state, or the initial one. */
    public SafetyState safety() {
        List<byte[]> rows = jdbc.query("SELECT state FROM consensus_safety WHERE id = 1", (rs, i) -> rs.getBytes(1));
        if (rows.isEmpty()) {
            return SafetyState.INITIAL;
        }
        try {
            return Wire.decodeSafety(rows.get(0));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("the stored safety state does not parse: refusing to start (it would risk "
                    + "voting twice in a round)", e);
        }
    }

    private static Stored decode(BlockEntity e) {
        try {
            return new Stored(decodeBlock(e.blockData()), FinalityProof.parseFrom(e.finality()), e.committedAt());
        } catch (InvalidProtocolBufferException ex) {
            throw new IllegalStateException("block " + e.height() + " does not parse", ex);
        }
    }

    private static Block decodeBlock(byte[] data) {
        try {
            Block b = Wire.block(io.celluler.proto.validator.v1.Block.parseFrom(data));
            if (b == null) {
                throw new IllegalStateException("a stored block holds a transaction that does not parse");
            }
            return b;
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a stored block does not parse", e);
        }
    }
}
