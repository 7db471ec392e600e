package io.celluler.data.grpc;

import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.feed.Feeds;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.AppendRequest;
import io.celluler.proto.data.v1.AppendResponse;
import io.celluler.proto.data.v1.ConsistencyProof;
import io.celluler.proto.data.v1.CreateFeedRequest;
import io.celluler.proto.data.v1.CreateFeedResponse;
import io.celluler.proto.data.v1.Entry;
import io.celluler.proto.data.v1.FeedInfo;
import io.celluler.proto.data.v1.FeedServiceGrpc.FeedServiceImplBase;
import io.celluler.proto.data.v1.FeedType;
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
 * by index and by range, signed roots, inclusion and consistency proofs. The key-value view, following remote feeds
 * and the live tail answer UNIMPLEMENTED naming the issue that builds them (see {@code celluler.roadmap}).
 */
@Service
public class FeedGrpcService extends FeedServiceImplBase {

    static final int RANGE_PAGE = 256;
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 1000;
    private static final HexFormat HEX = HexFormat.of();

    private final Feeds feeds;

    public FeedGrpcService(Feeds feeds) {
        this.feeds = feeds;
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
        ServerCallStreamObserver<GetRangeResponse> calls = (ServerCallStreamObserver<GetRangeResponse>) out;
        try {
            FeedRow f = feeds.feed(r.getFeedKey());
            long end = r.getEnd() == 0 ? f.length() : r.getEnd();
            if (end > f.length() || r.getStart() > end || r.getStart() < 0) {
                throw Status.OUT_OF_RANGE.withDescription("start, end: [" + r.getStart() + ", " + end + ") is not within the "
                        + f.length() + " entries of feed " + f.key()).asRuntimeException();
            }
            for (long from = r.getStart(); from < end && !calls.isCancelled(); from += RANGE_PAGE) {
                long to = Math.min(end, from + RANGE_PAGE);
                long index = from;
                for (byte[] data : feeds.entries(f, from, to)) {
                    out.onNext(GetRangeResponse.newBuilder().setEntry(Entry.newBuilder().setIndex(index++)
                            .setData(ByteString.copyFrom(data))).build());
                }
            }
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        } catch (DataAccessException e) {
            out.onError(storeUnavailable(e));
        }
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

    // ---- mapping ---------------------------------------------------------------------------------------------------

    private InclusionProof inclusion(FeedRow f, long index, long length) {
        InclusionProof.Builder p = InclusionProof.newBuilder().setIndex(index)
                .setSignedRoot(signed(f.key(), feeds.signedAt(f, length)));
        feeds.inclusion(f, index, length).forEach(n -> p.addNodes(node(n)));
        return p.build();
    }

    private FeedInfo info(FeedRow f) {
        Signed current = feeds.currentRoot(f);
        return FeedInfo.newBuilder().setFeedKey(f.key()).setName(f.name())
                .setType(Feeds.LOG.equals(f.type()) ? FeedType.FEED_TYPE_LOG : FeedType.FEED_TYPE_KEY_VALUE)
                .setWritable(f.secretKey() != null).setLength(f.length()).setByteLength(f.byteLength())
                .setSignedRoot(signed(f.key(), current)).putAllLabels(f.labels())
                .setCreatedAt(Timestamp.newBuilder().setSeconds(f.createdAt().getEpochSecond()).setNanos(f.createdAt().getNano()))
                .build();
    }

    static SignedRoot signed(String key, Signed s) {
        return SignedRoot.newBuilder().setFeedKey(key).setLength(s.length()).setByteLength(s.byteLength())
                .setRoot(HEX.formatHex(s.rootHash())).setSignature(ByteString.copyFrom(s.signature())).build();
    }

    static TreeNode node(Node n) {
        return TreeNode.newBuilder().setIndex(n.index()).setHash(HEX.formatHex(n.hash())).setSizeBytes(n.size()).build();
    }

    private static <T> void answer(StreamObserver<T> out, Supplier<T> body) {
        try {
            out.onNext(body.get());
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
