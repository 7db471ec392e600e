package io.celluler.catalog.store;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.protobuf.InvalidProtocolBufferException;
import io.celluler.catalog.engine.Dot;
import io.celluler.catalog.engine.DotContext;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.engine.EntryState;
import io.celluler.proto.catalog.v1.CausalContext;
import io.celluler.proto.catalog.v1.DotStamp;
import io.celluler.proto.catalog.v1.EntryCrdt;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The database side of the replica (tables of {@code V1__catalog.sql}), plain JDBC with batched statements: every
 * write of the replica goes in one transaction of the caller, so what a restart loads is what was acknowledged.
 */
@Component
public class CatalogStore {

    /** What a restart loads. */
    public record Loaded(String cellId, List<EntryState> entries, long seq, DotContext knowledge, TreeMap<Long, EntryState> log,
            Map<String, Long> acked, Map<String, Map<String, Long>> reports, long lastChangeNo) {
    }

    /** One row of the change feed, as written: the entry's state encoded ({@code EntryCrdt} bytes). */
    public record ChangeRow(long changeNo, String entryId, int kind, byte[] state, Instant changedAt) {

        /** The entry as of this change. */
        public EntryState entry() {
            return decode(state);
        }
    }

    private final JdbcTemplate jdbc;

    public CatalogStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** The cell id the stored replica writes as, null when there is none yet. */
    public String cellId() {
        return jdbc.query("SELECT cell_id FROM catalog_replica WHERE id = 1", (rs, i) -> rs.getString(1)).stream()
                .findFirst().orElse(null);
    }

    public Loaded load() {
        List<EntryState> entries = jdbc.query("SELECT state FROM catalog_entry", (rs, i) -> decode(rs.getBytes(1)));
        TreeMap<Long, EntryState> log = new TreeMap<>();
        jdbc.query("SELECT seq, delta FROM catalog_log", rs -> {
            log.put(rs.getLong(1), decode(rs.getBytes(2)));
        });
        long[] seq = {0};
        String[] cellId = {null};
        DotContext[] knowledge = {new DotContext()};
        jdbc.query("SELECT seq, knowledge, cell_id FROM catalog_replica WHERE id = 1", rs -> {
            seq[0] = rs.getLong(1);
            knowledge[0] = context(rs.getBytes(2));
            cellId[0] = rs.getString(3);
        });
        Map<String, Long> acked = new TreeMap<>();
        Map<String, Map<String, Long>> reports = new TreeMap<>();
        jdbc.query("SELECT cell_id, acked, report FROM catalog_peer", rs -> {
            acked.put(rs.getString(1), rs.getLong(2));
            reports.put(rs.getString(1), context(rs.getBytes(3)).compactView());
        });
        Long last = jdbc.queryForObject("SELECT MAX(change_no) FROM catalog_change", Long.class);
        return new Loaded(cellId[0], entries, seq[0], knowledge[0], log, acked, reports, last == null ? 0 : last);
    }

    /** Writes (or replaces) entry states. */
    public void putEntries(Collection<EntryState> states) {
        if (states.isEmpty()) {
            return;
        }
        List<Object[]> ids = new ArrayList<>();
        List<Object[]> rows = new ArrayList<>();
        for (EntryState s : states) {
            ids.add(new Object[] {s.id()});
            rows.add(new Object[] {s.id(), EntryCodec.encode(s).toByteArray()});
        }
        jdbc.batchUpdate("DELETE FROM catalog_entry WHERE entry_id = ?", ids);
        jdbc.batchUpdate("INSERT INTO catalog_entry (entry_id, state) VALUES (?, ?)", rows);
    }

    public void removeEntries(Collection<String> ids) {
        if (!ids.isEmpty()) {
            jdbc.batchUpdate("DELETE FROM catalog_entry WHERE entry_id = ?", ids.stream().map(id -> new Object[] {id})
                    .toList());
        }
    }

    /** Adds this cell's new changes to the log and drops those before {@code keepFrom}. */
    public void appendLog(Map<Long, EntryState> added, long keepFrom) {
        if (!added.isEmpty()) {
            jdbc.batchUpdate("INSERT INTO catalog_log (seq, delta) VALUES (?, ?)", added.entrySet().stream()
                    .map(e -> new Object[] {e.getKey(), EntryCodec.encode(e.getValue()).toByteArray()}).toList());
        }
        jdbc.update("DELETE FROM catalog_log WHERE seq < ?", keepFrom);
    }

    public void putReplica(String cellId, long seq, DotContext knowledge) {
        int n = jdbc.update("UPDATE catalog_replica SET seq = ?, knowledge = ? WHERE id = 1", seq, bytes(knowledge));
        if (n == 0) {
            jdbc.update("INSERT INTO catalog_replica (id, cell_id, seq, knowledge) VALUES (1, ?, ?, ?)", cellId, seq,
                    bytes(knowledge));
        }
    }

    /** What is kept of another cell: the last of this cell's changes it acknowledged, its last reported knowledge. */
    public record PeerRow(long acked, Map<String, Long> report) {
    }

    /** Writes (or replaces) the rows of other cells (every member is kept: members outlive a restart). */
    public void putPeers(Map<String, PeerRow> peers) {
        if (peers.isEmpty()) {
            return;
        }
        List<Object[]> ids = new ArrayList<>();
        List<Object[]> rows = new ArrayList<>();
        peers.forEach((cell, p) -> {
            ids.add(new Object[] {cell});
            rows.add(new Object[] {cell, p.acked(), bytes(new DotContext(p.report(), List.of()))});
        });
        jdbc.batchUpdate("DELETE FROM catalog_peer WHERE cell_id = ?", ids);
        jdbc.batchUpdate("INSERT INTO catalog_peer (cell_id, acked, report) VALUES (?, ?, ?)", rows);
    }

    public void removePeers(Collection<String> cells) {
        if (!cells.isEmpty()) {
            jdbc.batchUpdate("DELETE FROM catalog_peer WHERE cell_id = ?", cells.stream().map(c -> new Object[] {c})
                    .toList());
        }
    }

    public void addChanges(List<ChangeRow> changes) {
        if (!changes.isEmpty()) {
            jdbc.batchUpdate("INSERT INTO catalog_change (change_no, entry_id, kind, state, changed_at)"
                    + " VALUES (?, ?, ?, ?, ?)", changes.stream().map(c -> new Object[] {c.changeNo(), c.entryId(),
                            c.kind(), c.state(), Timestamp.from(c.changedAt())})
                    .toList());
        }
    }

    /** Changes after {@code afterNo}, oldest first, at most {@code limit}. */
    public List<ChangeRow> changesAfter(long afterNo, int limit) {
        return jdbc.query("SELECT change_no, entry_id, kind, state, changed_at FROM catalog_change WHERE change_no > ?"
                + " ORDER BY change_no LIMIT ?", (rs, i) -> new ChangeRow(rs.getLong(1), rs.getString(2), rs.getInt(3),
                        rs.getBytes(4), rs.getTimestamp(5).toInstant()), afterNo, limit);
    }

    /** The oldest change kept (0: none). */
    public long firstChangeNo() {
        Long first = jdbc.queryForObject("SELECT MIN(change_no) FROM catalog_change", Long.class);
        return first == null ? 0 : first;
    }

    /** Drops changes before {@code keepFrom}. */
    public void trimChanges(long keepFrom) {
        jdbc.update("DELETE FROM catalog_change WHERE change_no < ?", keepFrom);
    }

    private static EntryState decode(byte[] b) {
        try {
            return EntryCodec.decode(EntryCrdt.parseFrom(b));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a stored catalog state does not parse", e);
        }
    }

    private static byte[] bytes(DotContext c) {
        CausalContext.Builder b = CausalContext.newBuilder();
        c.compactView().forEach((cell, n) -> b.addCompact(DotStamp.newBuilder().setCellId(cell).setCounter(n)));
        c.cloudView().forEach(d -> b.addCloud(DotStamp.newBuilder().setCellId(d.cell()).setCounter(d.counter())));
        return b.build().toByteArray();
    }

    private static DotContext context(byte[] b) {
        try {
            CausalContext m = CausalContext.parseFrom(b);
            TreeMap<String, Long> compact = new TreeMap<>();
            m.getCompactList().forEach(d -> compact.put(d.getCellId(), d.getCounter()));
            List<Dot> cloud = m.getCloudList().stream().map(d -> new Dot(d.getCellId(), d.getCounter())).toList();
            return new DotContext(compact, cloud);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("a stored causal context does not parse", e);
        }
    }
}
