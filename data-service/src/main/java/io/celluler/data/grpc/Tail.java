package io.celluler.data.grpc;

import java.util.List;
import java.util.concurrent.Executor;

import com.google.protobuf.ByteString;
import io.celluler.core.grpc.LiveStream;
import io.celluler.data.feed.FeedEvents;
import io.celluler.data.feed.FeedStore;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.Feeds;
import io.celluler.proto.data.v1.Entry;
import io.celluler.proto.data.v1.SubscribeResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import org.springframework.dao.DataAccessException;

/**
 * One live tail (Subscribe): the feed's stored entries from {@code from_index} on, then each new one once it is
 * committed here (appended, or replicated and verified), until the caller cancels (flow control and wake-ups:
 * {@link LiveStream}). On a sparse replica it waits at the first entry not here.
 * With the first entry sent after the feed's signed root changed goes that signed root (it covers the entry).
 */
final class Tail extends LiveStream<SubscribeResponse> {

    static final int PAGE = 64;

    private final Feeds feeds;
    private final FeedStore store;
    private final String key;
    private long next;
    private long rootSent = -1;

    Tail(Feeds feeds, FeedEvents events, String key, long from, ServerCallStreamObserver<SubscribeResponse> out, Executor executor) {
        super(out, executor);
        this.feeds = feeds;
        this.store = feeds.store();
        this.key = key;
        this.next = from;
        start(wake -> events.listen(key, wake));
    }

    @Override
    protected Status statusOf(RuntimeException e) {
        if (e instanceof DataAccessException d) {
            return Status.UNAVAILABLE.withDescription("the feed store is unavailable: " + d.getMostSpecificCause().getMessage());
        }
        return Status.INTERNAL.withDescription("the tail of feed " + key + " failed: " + e);
    }

    @Override
    protected void sendAvailable() {
        while (ready()) {
            FeedRow f = store.feed(key).orElse(null);
            if (f == null || next >= f.length()) {
                return;
            }
            List<long[]> sizes = store.sizes(key, next, Math.min(f.length(), next + PAGE), PAGE);
            int n = 0;
            while (n < sizes.size() && sizes.get(n)[0] == next + n) {
                n++;
            }
            if (n == 0) {
                return; // a replica that does not have entry `next` yet
            }
            boolean first = true;
            for (byte[] data : store.entries(key, next, next + n)) {
                SubscribeResponse.Builder m = SubscribeResponse.newBuilder()
                        .setEntry(Entry.newBuilder().setIndex(next).setData(ByteString.copyFrom(data)));
                if (first && rootSent != f.length()) {
                    m.setSignedRoot(FeedMessages.signed(key, feeds.currentRoot(f)));
                    rootSent = f.length();
                }
                first = false;
                if (done()) {
                    return;
                }
                out().onNext(m.build());
                next++;
            }
        }
    }
}
