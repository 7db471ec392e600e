package io.celluler.data.grpc;

import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.data.feed.FeedEvents;
import io.celluler.data.feed.FeedStore;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.feed.Feeds;
import io.celluler.data.replication.Follower;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.FollowFeedRequest;
import io.celluler.proto.data.v1.FollowFeedResponse;
import io.celluler.proto.data.v1.IndexRange;
import io.celluler.proto.data.v1.ReplicationState;
import io.celluler.proto.data.v1.SubscribeRequest;
import io.celluler.proto.data.v1.SubscribeResponse;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.DeleteValueRequest;
import io.celluler.proto.data.v1.DeleteValueResponse;
import io.celluler.proto.data.v1.DiffVersionsRequest;
import io.celluler.proto.data.v1.DiffVersionsResponse;
import io.celluler.proto.data.v1.GetKeyHistoryRequest;
import io.celluler.proto.data.v1.GetKeyHistoryResponse;
import io.celluler.proto.data.v1.GetValueRequest;
import io.celluler.proto.data.v1.GetValueResponse;
import io.celluler.proto.data.v1.KeyChange;
import io.celluler.proto.data.v1.KeyValue;
import io.celluler.proto.data.v1.PutValueRequest;
import io.celluler.proto.data.v1.PutValueResponse;
import io.celluler.proto.data.v1.ScanKeysRequest;
import io.celluler.proto.data.v1.ScanKeysResponse;
import io.celluler.proto.data.v1.AppendResponse;
import io.celluler.proto.data.v1.ConsistencyProof;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.CreateFeedResponse;
import io.celluler.proto.data.v1.Entry;
import io.celluler.proto.data.v1.FeedInfo;
import io.celluler.proto.data.v1.FeedServiceGrpc.FeedServiceImplBase;
import io.celluler.proto.data.v1.GetConsistencyProofRequest;
import io.celluler.proto.data.v1.GetConsistencyProofResponse;
import io.celluler.proto.data.v1.GetEntryRequest;
import io.celluler.proto.data.v1.GetEntryResponse;
import io.celluler.proto.data.v1.GetFeedRequest;
import io.celluler.proto.data.v1.GetFeedResponse;
import io.celluler.proto.data.v1.GetInclusionProofRequest;
import io.celluler.proto.data.v1.GetInclusionProofResponse;
import io.celluler.proto.data.v1.GetRangeRequest;
import io.celluler.proto.data.v1.GetRangeResponse;
import io.celluler.proto.data.v1.GetSignedRootRequest;
import io.celluler.proto.data.v1.GetSignedRootResponse;
import io.celluler.proto.data.v1.InclusionProof;
import io.celluler.proto.data.v1.ListFeedsRequest;
import io.celluler.proto.data.v1.ListFeedsResponse;
import io.celluler.proto.data.v1.SignedRoot;
import io.celluler.proto.data.v1.TreeNode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Service;

/**
 * FeedService: log feeds owned by this cell — create, list, describe, append (one entry or an atomic batch), read
 * by index and by range, signed roots, inclusion and consistency proofs — and the key-value view of key-value feeds
 * (put, get at a version, delete, history, diff between versions, scans of a read-only checkout), following feeds of
 * other cells ({@link Follower}: replicas verified entry by entry, read like owned feeds, missing entries fetched on
 * read) and live tails ({@link Tail}).
 */
@Service
public class FeedGrpcService extends FeedServiceImplBase {

    static final int RANGE_PAGE = 256;
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;

    private final Feeds feeds;
    private final Follower follower;
    private final FeedEvents events;
    /** Live tails drain on virtual threads (each waits on the database, none holds a thread between changes). */
    private final java.util.concurrent.ExecutorService tails = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    public FeedGrpcService(Feeds feeds, Follower follower, FeedEvents events) {
        this.feeds = feeds;
        this.follower = follower;
        this.events = events;
    }

    @Override
    public void createFeed(CreateFeedRequest r, StreamObserver<CreateFeedResponse> out) {
        answer(out, () -> {
            String type = switch (r.getType()) {
                case FEED_TYPE_UNSPECIFIED, FEED_TYPE_LOG -> Feeds.LOG;
                case FEED_TYPE_KEY_VALUE -> Feeds.KEY_VALUE;
                default -> throw GrpcErrors.invalidArgument("type", "must be FEED_TYPE_LOG or FEED_TYPE_KEY_VALUE");
            };
            FeedRow f = feeds.create(r.getName(), type, r.getLabelsMap());
            return CreateFeedResponse.newBuilder().setFeed(info(f)).build();
        });
    }

    @Override
    public void getFeed(GetFeedRequest r, StreamObserver<GetFeedResponse> out) {
        answer(out, () -> GetFeedResponse.newBuilder().setFeed(info(feeds.feed(r.getFeedKey()))).build());
    }

    @Override
    public void listFeeds(ListFeedsRequest r, StreamObserver<ListFeedsResponse> out) {
        answer(out, () -> {
            if (r.getPageSize() < 0) {
                throw GrpcErrors.invalidArgument("page_size", "must not be negative");
            }
            int size = r.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(MAX_PAGE, r.getPageSize());
            String after = r.getPageToken();
            if (!after.isEmpty()) {
                try {
                    after = new String(java.util.Base64.getUrlDecoder().decode(after), java.nio.charset.StandardCharsets.US_ASCII);
                } catch (IllegalArgumentException bad) {
                    throw GrpcErrors.invalidArgument("page_token", "is not a token this service gave");
                }
            }
            List<FeedRow> page = feeds.list(after, r.getOwnedOnly(), size);
            ListFeedsResponse.Builder b = ListFeedsResponse.newBuilder();
            page.forEach(f -> b.addFeeds(info(f)));
            if (page.size() == size) {
                b.setNextPageToken(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                        page.get(page.size() - 1).key().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            }
            return b.build();
        });
    }

    @Override
    public void append(AppendRequest r, StreamObserver<AppendResponse> out) {
        answer(out, () -> {
            Feeds.Appended a = feeds.append(r.getFeedKey(), r.getEntriesList().stream().map(ByteString::toByteArray).toList());
            return AppendResponse.newBuilder().setFirstIndex(a.firstIndex()).setLength(a.length())
                    .setSignedRoot(signed(r.getFeedKey(), a.signed())).build();
        });
    }

    @Override
    public void getEntry(GetEntryRequest r, StreamObserver<GetEntryResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.feed(r.getFeedKey());
            if (!f.owned() && !r.getLocalOnly() && r.getIndex() >= 0 && r.getIndex() < f.length()) {
                follower.fetch(f, r.getIndex(), r.getIndex() + 1);
            }
            byte[] data = feeds.entry(f, r.getIndex());
            GetEntryResponse.Builder b = GetEntryResponse.newBuilder()
                    .setEntry(Entry.newBuilder().setIndex(r.getIndex()).setData(ByteString.copyFrom(data)));
            if (r.getIncludeProof()) {
                b.setProof(inclusion(f, r.getIndex(), f.length()));
            }
            return b.build();
        });
    }

    @Override
    public void getRange(GetRangeRequest r, StreamObserver<GetRangeResponse> out) {
        stream(out, calls -> {
            FeedRow f = feeds.feed(r.getFeedKey());
            long end = r.getEnd() == 0 ? f.length() : r.getEnd();
            if (end > f.length() || r.getStart() > end || r.getStart() < 0) {
                throw Status.OUT_OF_RANGE.withDescription("start, end: [" + r.getStart() + ", " + end + ") is not within the "
                        + f.length() + " entries of feed " + f.key()).asRuntimeException();
            }
            for (long from = r.getStart(); from < end && !calls.isCancelled(); from += RANGE_PAGE) {
                long to = Math.min(end, from + RANGE_PAGE);
                if (!f.owned() && !(r.getLocalOnly() ? feeds.store().countStored(f.key(), from, to) == to - from
                        : follower.fetch(f, from, to))) {
                    throw GrpcErrors.notFound("entries of [" + from + ", " + to + ") of feed " + f.key() + " are not on this cell"
                            + (r.getLocalOnly() ? "" : " and no source served them"));
                }
                long index = from;
                for (byte[] data : feeds.entries(f, from, to)) {
                    out.onNext(GetRangeResponse.newBuilder().setEntry(Entry.newBuilder().setIndex(index++)
                            .setData(ByteString.copyFrom(data))).build());
                }
            }
        });
    }

    @Override
    public void getInclusionProof(GetInclusionProofRequest r, StreamObserver<GetInclusionProofResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.feed(r.getFeedKey());
            long length = r.getLength() == 0 ? f.length() : r.getLength();
            if (length > f.length()) {
                throw Status.OUT_OF_RANGE.withDescription("length: feed " + f.key() + " has " + f.length() + " entries, not "
                        + length).asRuntimeException();
            }
            return GetInclusionProofResponse.newBuilder().setProof(inclusion(f, r.getIndex(), length)).build();
        });
    }

    @Override
    public void getConsistencyProof(GetConsistencyProofRequest r, StreamObserver<GetConsistencyProofResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.feed(r.getFeedKey());
            long to = r.getToLength() == 0 ? f.length() : r.getToLength();
            if (r.getFromLength() < 1) {
                throw GrpcErrors.invalidArgument("from_length", "must be at least 1 (an empty tree proves nothing)");
            }
            if (to > f.length() || r.getFromLength() > to) {
                throw Status.OUT_OF_RANGE.withDescription("from_length, to_length: need from_length <= to_length <= "
                        + f.length() + " (the feed's length)").asRuntimeException();
            }
            ConsistencyProof.Builder p = ConsistencyProof.newBuilder()
                    .setFromRoot(signed(f.key(), feeds.signedAt(f, r.getFromLength())))
                    .setToRoot(signed(f.key(), feeds.signedAt(f, to)));
            feeds.consistency(f, r.getFromLength(), to).forEach(n -> p.addNodes(node(n)));
            return GetConsistencyProofResponse.newBuilder().setProof(p).build();
        });
    }

    @Override
    public void getSignedRoot(GetSignedRootRequest r, StreamObserver<GetSignedRootResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.feed(r.getFeedKey());
            long length = r.getLength() == 0 ? f.length() : r.getLength();
            return GetSignedRootResponse.newBuilder().setSignedRoot(signed(f.key(), feeds.signedAt(f, length))).build();
        });
    }

    @jakarta.annotation.PreDestroy
    void stopTails() {
        tails.shutdownNow();
    }

    // ---- replication and the live tail ---------------------------------------------------------------------------

    static final int MAX_RANGES = 64;
    static final int MAX_SOURCE_CELLS = 64;

    @Override
    public void followFeed(FollowFeedRequest r, StreamObserver<FollowFeedResponse> out) {
        answer(out, () -> {
            String key = Feeds.checkKey("feed_key", r.getFeedKey());
            if (r.getRangesCount() > MAX_RANGES) {
                throw GrpcErrors.invalidArgument("ranges", "at most " + MAX_RANGES + " ranges, not " + r.getRangesCount());
            }
            List<long[]> ranges = new java.util.ArrayList<>();
            for (int i = 0; i < r.getRangesCount(); i++) {
                IndexRange x = r.getRanges(i);
                if (x.getStart() < 0 || x.getEnd() < 0 || (x.getEnd() != 0 && x.getEnd() <= x.getStart())) {
                    throw GrpcErrors.invalidArgument("ranges[" + i + "]", "needs start < end (end 0: open-ended), not ["
                            + x.getStart() + ", " + x.getEnd() + ")");
                }
                ranges.add(new long[] {x.getStart(), x.getEnd()});
            }
            if (r.getSourceCellIdsCount() > MAX_SOURCE_CELLS) {
                throw GrpcErrors.invalidArgument("source_cell_ids", "at most " + MAX_SOURCE_CELLS + " cells");
            }
            for (int i = 0; i < r.getSourceCellIdsCount(); i++) {
                Feeds.checkKey("source_cell_ids[" + i + "]", r.getSourceCellIds(i)); // cell ids are Ed25519 keys too
            }
            FeedRow f = follower.follow(key, ranges, r.getLive(), r.getSourceCellIdsList());
            return FollowFeedResponse.newBuilder().setFeed(info(f)).build();
        });
    }

    @Override
    public void subscribe(SubscribeRequest r, StreamObserver<SubscribeResponse> out) {
        try {
            FeedRow f = feeds.feed(r.getFeedKey());
            if (r.getFromIndex() < 0) {
                throw GrpcErrors.invalidArgument("from_index", "must not exceed 2^63 - 1");
            }
            new Tail(feeds, events, f.key(), r.getFromIndex(), (ServerCallStreamObserver<SubscribeResponse>) out, tails);
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (DataAccessException e) {
            out.onError(storeUnavailable(e));
        }
    }

    // ---- the key-value view ----------------------------------------------------------------------------------------

    @Override
    public void putValue(PutValueRequest r, StreamObserver<PutValueResponse> out) {
        answer(out, () -> {
            Feeds.Appended a = feeds.write(r.getFeedKey(), r.getKey(), r.getValue().toByteArray(), r.getExpectedVersion());
            return PutValueResponse.newBuilder().setVersion(a.length()).setSignedRoot(signed(r.getFeedKey(), a.signed())).build();
        });
    }

    @Override
    public void deleteValue(DeleteValueRequest r, StreamObserver<DeleteValueResponse> out) {
        answer(out, () -> {
            Feeds.Appended a = feeds.write(r.getFeedKey(), r.getKey(), null, r.getExpectedVersion());
            return DeleteValueResponse.newBuilder().setVersion(a.length()).setSignedRoot(signed(r.getFeedKey(), a.signed())).build();
        });
    }

    @Override
    public void getValue(GetValueRequest r, StreamObserver<GetValueResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.keyValueFeed(r.getFeedKey());
            long version = feeds.readableVersion(f, "version", r.getVersion());
            byte[] key = Feeds.keyBytes(r.getKey());
            FeedStore.Change c = feeds.store().latest(f.key(), key, version).filter(x -> !x.deleted()).orElseThrow(
                    () -> GrpcErrors.notFound("key '" + r.getKey() + "' has no value at version " + version));
            return GetValueResponse.newBuilder().setEntry(keyValue(c)).build();
        });
    }

    @Override
    public void getKeyHistory(GetKeyHistoryRequest r, StreamObserver<GetKeyHistoryResponse> out) {
        answer(out, () -> {
            FeedRow f = feeds.keyValueFeed(r.getFeedKey());
            feeds.readableVersion(f, "version", 0); // a history is complete only on a whole replica
            byte[] key = Feeds.keyBytes(r.getKey());
            if (r.getPageSize() < 0) {
                throw GrpcErrors.invalidArgument("page_size", "must not be negative");
            }
            int size = r.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(MAX_PAGE, r.getPageSize());
            long after = 0;
            if (!r.getPageToken().isEmpty()) {
                try {
                    after = Long.parseLong(new String(java.util.Base64.getUrlDecoder().decode(r.getPageToken()),
                            java.nio.charset.StandardCharsets.US_ASCII));
                } catch (IllegalArgumentException bad) {
                    throw GrpcErrors.invalidArgument("page_token", "is not a token this service gave");
                }
            }
            List<FeedStore.Change> page = feeds.store().history(f.key(), key, after, size);
            GetKeyHistoryResponse.Builder b = GetKeyHistoryResponse.newBuilder();
            page.forEach(c -> b.addChanges(change(c)));
            if (page.size() == size) {
                b.setNextPageToken(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                        Long.toString(page.get(page.size() - 1).version()).getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            }
            return b.build();
        });
    }

    @Override
    public void diffVersions(DiffVersionsRequest r, StreamObserver<DiffVersionsResponse> out) {
        stream(out, calls -> {
            FeedRow f = feeds.keyValueFeed(r.getFeedKey());
            long to = feeds.readableVersion(f, "to_version", r.getToVersion());
            long from = r.getFromVersion();
            if (from < 0 || from > to) {
                throw GrpcErrors.invalidArgument("from_version", "must not exceed to_version (" + to + ")");
            }
            byte[] lo = r.getPrefix().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] hi = lo.length == 0 ? null : Feeds.prefixEnd(lo);
            byte[] after = null;
            while (!calls.isCancelled()) {
                List<byte[]> keys = feeds.store().changedKeys(f.key(), from, to, lo, hi, after, RANGE_PAGE);
                for (byte[] key : keys) {
                    FeedStore.Change at = feeds.store().latest(f.key(), key, to).orElseThrow(); // it changed in (from, to]
                    java.util.Optional<FeedStore.Change> now = java.util.Optional.of(at).filter(c -> !c.deleted());
                    java.util.Optional<FeedStore.Change> before = feeds.store().latest(f.key(), key, from).filter(c -> !c.deleted());
                    boolean same = now.isPresent() == before.isPresent()
                            && (now.isEmpty() || java.util.Arrays.equals(now.get().value(), before.get().value()));
                    if (!same) {
                        out.onNext(DiffVersionsResponse.newBuilder().setChange(change(at))
                                .setPreviousValue(ByteString.copyFrom(before.map(FeedStore.Change::value).orElse(new byte[0]))).build());
                    }
                }
                if (keys.size() < RANGE_PAGE) {
                    break;
                }
                after = keys.get(keys.size() - 1);
            }
        });
    }

    @Override
    public void scanKeys(ScanKeysRequest r, StreamObserver<ScanKeysResponse> out) {
        stream(out, calls -> {
            FeedRow f = feeds.keyValueFeed(r.getFeedKey());
            long version = feeds.readableVersion(f, "version", r.getVersion());
            byte[] prefix = r.getPrefix().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] lo = max(prefix, r.getStartKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            byte[] hi = prefix.length == 0 ? null : Feeds.prefixEnd(prefix);
            if (!r.getEndKey().isEmpty()) {
                byte[] end = r.getEndKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                hi = hi == null || java.util.Arrays.compareUnsigned(end, hi) < 0 ? end : hi;
            }
            long left = r.getLimit() == 0 ? Long.MAX_VALUE : Integer.toUnsignedLong(r.getLimit());
            byte[] after = null;
            while (left > 0 && !calls.isCancelled()) {
                List<FeedStore.Change> page = feeds.store().scan(f.key(), version, lo, hi, after, r.getReverse(),
                        (int) Math.min(RANGE_PAGE, left));
                for (FeedStore.Change c : page) {
                    out.onNext(ScanKeysResponse.newBuilder().setEntry(keyValue(c)).build());
                }
                left -= page.size();
                if (page.size() < Math.min(RANGE_PAGE, left + page.size())) {
                    break;
                }
                after = page.get(page.size() - 1).key();
            }
        });
    }

    private static byte[] max(byte[] a, byte[] b) {
        return java.util.Arrays.compareUnsigned(a, b) >= 0 ? a : b;
    }

    private static KeyValue keyValue(FeedStore.Change c) {
        return KeyValue.newBuilder().setKey(new String(c.key(), java.nio.charset.StandardCharsets.UTF_8))
                .setValue(ByteString.copyFrom(c.value())).setVersion(c.version()).build();
    }

    private static KeyChange change(FeedStore.Change c) {
        return KeyChange.newBuilder().setKey(new String(c.key(), java.nio.charset.StandardCharsets.UTF_8)).setVersion(c.version())
                .setValue(ByteString.copyFrom(c.deleted() ? new byte[0] : c.value())).setDeleted(c.deleted()).build();
    }

    // ---- mapping ---------------------------------------------------------------------------------------------------

    private InclusionProof inclusion(FeedRow f, long index, long length) {
        InclusionProof.Builder p = InclusionProof.newBuilder().setIndex(index)
                .setSignedRoot(signed(f.key(), feeds.signedAt(f, length)));
        feeds.inclusion(f, index, length).forEach(n -> p.addNodes(node(n)));
        return p.build();
    }

    private FeedInfo info(FeedRow f) {
        Signed current = feeds.currentRoot(f);
        String owner = f.owned() ? follower.selfIdOrNull() : f.ownerCellId();
        FeedInfo.Builder b = FeedInfo.newBuilder().setFeedKey(f.key()).setName(f.name()).setType(FeedMessages.type(f))
                .setOwnerCellId(owner == null ? "" : owner)
                .setWritable(f.owned()).setLength(f.length()).setByteLength(f.byteLength())
                .setSignedRoot(signed(f.key(), current)).putAllLabels(f.labels())
                .setCreatedAt(timestamp(f.createdAt()));
        if (!f.owned()) {
            feeds.store().follow(f.key()).ifPresent(follow -> {
                ReplicationState.Builder state = ReplicationState.newBuilder().setFollowing(follow.following())
                        .setLive(follow.live()).setRemoteLength(f.length()).setDownloadedEntries(follow.downloaded())
                        .setRejected(follow.rejected());
                String source = follower.lastSource(f.key());
                if (source != null) {
                    state.addSourceCellIds(source);
                }
                if (follow.lastSyncedAt() != null) {
                    state.setLastSyncedAt(timestamp(follow.lastSyncedAt()));
                }
                b.setReplication(state).setForked(follow.forked());
                if (follow.forked()) {
                    feeds.store().forkEvidence(f.key()).forEach(e -> b.addForkEvidence(signed(f.key(), e)));
                }
            });
        }
        return b.build();
    }

    private static Timestamp timestamp(java.time.Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }

    private static SignedRoot signed(String key, Signed s) {
        return FeedMessages.signed(key, s);
    }

    private static TreeNode node(Node n) {
        return FeedMessages.node(n);
    }

    /** A unary answer: what {@code body} gives, or its refusal as the call's status. */
    private static <T> void answer(StreamObserver<T> out, Supplier<T> body) {
        stream(out, calls -> calls.onNext(body.get()));
    }

    /**
     * A server stream: {@code body} sends its messages (looking at {@code isCancelled()} between pages) and the stream
     * ends; a refusal ({@link StatusRuntimeException}) or a store failure (UNAVAILABLE) ends it with that status.
     */
    private static <T> void stream(StreamObserver<T> out, java.util.function.Consumer<ServerCallStreamObserver<T>> body) {
        try {
            body.accept((ServerCallStreamObserver<T>) out);
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (DataAccessException e) {
            out.onError(storeUnavailable(e));
        }
    }

    private static StatusRuntimeException storeUnavailable(DataAccessException e) {
        return Status.UNAVAILABLE.withDescription("the feed store is unavailable: " + e.getMostSpecificCause().getMessage())
                .asRuntimeException();
    }
}
