package io.celluler.data.replication;

import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.data.feed.FeedStore;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.feed.Feeds;
import io.celluler.data.grpc.FeedMessages;
import io.celluler.data.tree.Proofs;
import io.celluler.proto.data.v1.Entry;
import io.celluler.proto.data.v1.FeedPeerRequest;
import io.celluler.proto.data.v1.FeedPeerResponse;
import io.celluler.proto.data.v1.PeerConsistency;
import io.celluler.proto.data.v1.PeerConsistencyNodes;
import io.celluler.proto.data.v1.PeerEntries;
import io.celluler.proto.data.v1.PeerFetch;
import io.celluler.proto.data.v1.PeerHeadState;

/**
 * Answers other cells' requests for feeds ({@code celluler/data/v1/peer.proto}): a feed's head, entries with the
 * range proof that ties them to a signed root, consistency proofs. An owner proves against any length (it signs
 * on demand); a replica serves what it has verified: the signed roots it holds and the entries and nodes it stored.
 * What it does not have is answered {@code missing}, so that the asking cell tries another. Every field is checked;
 * a bad one gets INVALID_ARGUMENT naming it.
 */
final class FeedPeers {

    /** Entries an answer holds at most (whatever their size). */
    static final int MAX_ENTRIES = 1024;
    static final int MAX_ANSWER_BYTES = 900 * 1024;

    private final Feeds feeds;
    private final FeedStore store;
    private final Supplier<String> selfId;

    FeedPeers(Feeds feeds, Supplier<String> selfId) {
        this.feeds = feeds;
        this.store = feeds.store();
        this.selfId = selfId;
    }

    FeedPeerResponse handle(String source, FeedPeerRequest r) {
        return switch (r.getKindCase()) {
            case HEAD -> FeedPeerResponse.newBuilder().setHead(head(Feeds.checkKey("head.feed_key", r.getHead().getFeedKey()))).build();
            case FETCH -> FeedPeerResponse.newBuilder().setEntries(fetch(r.getFetch())).build();
            case CONSISTENCY -> FeedPeerResponse.newBuilder().setConsistency(consistency(r.getConsistency())).build();
            default -> throw GrpcErrors.invalidArgument("kind", "one of head, fetch, consistency");
        };
    }

    private PeerHeadState head(String key) {
        FeedRow f = store.feed(key).orElse(null);
        if (f == null) {
            return PeerHeadState.newBuilder().setMissing(true).build();
        }
        String owner = f.owned() ? selfId.get() : f.ownerCellId();
        return PeerHeadState.newBuilder().setName(f.name()).setType(FeedMessages.type(f)).setOwnerCellId(owner == null ? "" : owner)
                .setSignedRoot(FeedMessages.signed(key, feeds.currentRoot(f)))
                .setForked(store.follow(key).map(FeedStore.Follow::forked).orElse(false)).build();
    }

    private PeerEntries fetch(PeerFetch r) {
        String key = Feeds.checkKey("fetch.feed_key", r.getFeedKey());
        long length = r.getLength();
        if (r.getStart() < 0 || r.getEnd() <= r.getStart() || r.getEnd() > length) {
            throw GrpcErrors.invalidArgument("fetch.start", "need 0 <= start < end <= length (got " + r.getStart() + ", "
                    + r.getEnd() + ", " + length + ")");
        }
        if (r.getMaxBytes() < 1 || r.getMaxBytes() > MAX_ANSWER_BYTES) {
            throw GrpcErrors.invalidArgument("fetch.max_bytes", "must be between 1 and " + MAX_ANSWER_BYTES);
        }
        if (r.getOffset() < 0) {
            throw GrpcErrors.invalidArgument("fetch.offset", "must not be negative");
        }
        PeerEntries missing = PeerEntries.newBuilder().setMissing(true).build();
        FeedRow f = store.feed(key).orElse(null);
        Signed signed = f == null ? null : signedAt(f, length);
        if (signed == null) {
            return missing;
        }
        long start = r.getStart();
        List<long[]> sizes = store.sizes(key, start, Math.min(r.getEnd(), start + MAX_ENTRIES), MAX_ENTRIES);
        if (sizes.isEmpty() || sizes.get(0)[0] != start) {
            return missing;
        }
        PeerEntries.Builder out = PeerEntries.newBuilder().setSignedRoot(FeedMessages.signed(key, signed));
        try {
            if (r.getOffset() > 0 || sizes.get(0)[1] > r.getMaxBytes()) { // a piece of one large entry
                byte[] data = store.entry(key, start).orElse(null);
                if (data == null) {
                    return missing;
                }
                if (r.getOffset() >= data.length) {
                    throw GrpcErrors.invalidArgument("fetch.offset", "must be below the entry's size (" + data.length + ")");
                }
                int from = (int) r.getOffset();
                int n = Math.min(r.getMaxBytes(), data.length - from);
                out.setPiece(ByteString.copyFrom(data, from, n)).setPieceOffset(from).setEntrySize(data.length);
                store.nodes(key, Proofs.rangeIndexes(start, start + 1, length)).forEach(x -> out.addNodes(FeedMessages.node(x)));
                return out.build();
            }
            int n = 0;
            long bytes = 0;
            while (n < sizes.size() && sizes.get(n)[0] == start + n && bytes + sizes.get(n)[1] <= r.getMaxBytes()) {
                bytes += sizes.get(n)[1];
                n++;
            }
            long index = start;
            for (byte[] data : store.entries(key, start, start + n)) {
                out.addEntries(Entry.newBuilder().setIndex(index++).setData(ByteString.copyFrom(data)));
            }
            store.nodes(key, Proofs.rangeIndexes(start, start + n, length)).forEach(x -> out.addNodes(FeedMessages.node(x)));
            return out.build();
        } catch (FeedStore.MissingNodeException sparse) {
            return missing;
        }
    }

    private PeerConsistencyNodes consistency(PeerConsistency r) {
        String key = Feeds.checkKey("consistency.feed_key", r.getFeedKey());
        if (r.getFromLength() < 1 || r.getToLength() < r.getFromLength()) {
            throw GrpcErrors.invalidArgument("consistency.from_length", "need 1 <= from_length <= to_length (got "
                    + r.getFromLength() + ", " + r.getToLength() + ")");
        }
        PeerConsistencyNodes missing = PeerConsistencyNodes.newBuilder().setMissing(true).build();
        FeedRow f = store.feed(key).orElse(null);
        Signed to = f == null ? null : signedAt(f, r.getToLength());
        if (to == null) {
            return missing;
        }
        try {
            PeerConsistencyNodes.Builder out = PeerConsistencyNodes.newBuilder().setToRoot(FeedMessages.signed(key, to));
            store.nodes(key, Proofs.consistencyIndexes(r.getFromLength(), r.getToLength()))
                    .forEach(x -> out.addNodes(FeedMessages.node(x)));
            return out.build();
        } catch (FeedStore.MissingNodeException sparse) {
            return missing;
        }
    }

    /** The signed root at {@code length}: the owner's (signed now if need be), a replica's if it verified one; else null. */
    private Signed signedAt(FeedRow f, long length) {
        if (length > f.length()) {
            return null;
        }
        return f.owned() ? feeds.signedAt(f, length) : store.signed(f.key(), length).orElse(null);
    }
}
