package io.celluler.cas.replication;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.celluler.cas.store.Erasure;
import io.celluler.proto.cas.v1.PeerFetchShards;
import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerShardPiece;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The asking side of {@code fetch_shards}: shard i of many chunks from one cell, several small shards an answer, a
 * large one in pieces, each answer under the network's message limit. The caller checks what comes back (against a
 * shard hash it knows, or the chunk hash once k shards are decoded); this only checks that pieces fit.
 */
final class ShardFetcher {

    private static final Logger log = LoggerFactory.getLogger(ShardFetcher.class);
    /** Chunks named per request at most (the answering side's limit). */
    static final int MAX_CHUNKS = 1_000;

    /** A shard wanted: of chunk {@code chunkHash}, {@code shardSize} bytes long. */
    record Want(String chunkHash, int shardSize) {
    }

    private ShardFetcher() {
    }

    /** {@code wants} in consecutive batches of at most {@code maxBytes} of shards (a larger shard alone). */
    static List<List<Want>> batches(List<Want> wants, long maxBytes) {
        List<List<Want>> out = new java.util.ArrayList<>();
        int from = 0;
        long bytes = 0;
        for (int i = 0; i < wants.size(); i++) {
            if (i > from && bytes + wants.get(i).shardSize() > maxBytes) {
                out.add(wants.subList(from, i));
                from = i;
                bytes = 0;
            }
            bytes += wants.get(i).shardSize();
        }
        if (from < wants.size()) {
            out.add(wants.subList(from, wants.size()));
        }
        return out;
    }

    /**
     * Shard {@code index} (under {@code e}) of each of {@code wants} (distinct chunks) that {@code cell} has, by chunk
     * hash; what it lacks, or what did not come whole and fitting, is left out.
     */
    static Map<String, byte[]> fetch(PeerNetwork network, String cell, Erasure e, int index, List<Want> wants) {
        Map<String, byte[]> out = new HashMap<>();
        int next = 0;
        long offset = 0;
        byte[] partial = null;
        try {
            while (next < wants.size()) {
                PeerFetchShards.Builder r = PeerFetchShards.newBuilder().setDataShards(e.dataShards())
                        .setParityShards(e.parityShards()).setShardIndex(index).setOffset(offset)
                        .setMaxBytes(Repairer.PIECE_BYTES);
                wants.subList(next, Math.min(wants.size(), next + MAX_CHUNKS)).forEach(w -> r.addChunkSha256(w.chunkHash()));
                List<PeerShardPiece> pieces = network.call(cell, PeerRequest.newBuilder().setFetchShards(r).build())
                        .getShardPieces().getPiecesList();
                if (pieces.isEmpty()) {
                    return bad(out, cell, "an answer without pieces");
                }
                for (PeerShardPiece p : pieces) {
                    if (next >= wants.size() || !p.getChunkSha256().equals(wants.get(next).chunkHash())) {
                        return bad(out, cell, "a piece for a chunk not asked for in that place");
                    }
                    Want w = wants.get(next);
                    if (p.getMissing()) {
                        next++;
                        offset = 0;
                        partial = null;
                        continue;
                    }
                    int n = p.getData().size();
                    if (p.getShardSize() != w.shardSize() || p.getOffset() != offset || n == 0 || offset + n > w.shardSize()) {
                        return bad(out, cell, "a piece that does not fit (shard of " + p.getShardSize() + " bytes, expected "
                                + w.shardSize() + "; offset " + p.getOffset() + ", " + n + " bytes)");
                    }
                    if (partial == null) {
                        partial = new byte[w.shardSize()];
                    }
                    p.getData().copyTo(partial, (int) offset);
                    offset += n; // every piece moves on by at least one byte or one chunk: the loop ends
                    if (offset == w.shardSize()) {
                        out.put(w.chunkHash(), partial);
                        next++;
                        offset = 0;
                        partial = null;
                    } else if (pieces.size() != 1 || n != Repairer.PIECE_BYTES) {
                        // only a shard too large for one answer is cut, and then at the bytes asked for: a cell that
                        // drips a few bytes an answer would hold this cell for hours
                        return bad(out, cell, "a cut piece of " + n + " bytes in an answer of " + pieces.size() + " piece(s)");
                    }
                }
            }
        } catch (StatusRuntimeException ex) {
            log.debug("fetching shards {} from cell {} failed: {}", index, cell, ex.getStatus());
        }
        return out;
    }

    private static Map<String, byte[]> bad(Map<String, byte[]> out, String cell, String what) {
        log.warn("cell {} sent {} when asked for shards: the rest is not taken from it", cell, what);
        return out;
    }
}
