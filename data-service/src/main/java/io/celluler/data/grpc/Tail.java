package io.celluler.data.grpc;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;
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
 * committed here (appended, or replicated and verified), until the caller cancels. It sends while the call is ready
 * (gRPC flow control: a slow reader holds nothing but its position), wakes on the feed's changes and on the call
 * becoming ready again, and drains on one task at a time. On a sparse replica it waits at the first entry not here.
 * With the first entry sent after the feed's signed root changed goes that signed root (it covers the entry).
 */
final class Tail {

    static final int PAGE = 64;

    private final Feeds feeds;
    private final FeedStore store;
    private final String key;
    private final ServerCallStreamObserver<SubscribeResponse> out;
    private final Executor executor;
    private final AtomicInteger wanted = new AtomicInteger();
    private final Runnable unlisten;
    private long next;
    private long rootSent = -1;
    private volatile boolean done;

    Tail(Feeds feeds, FeedEvents events, String key, long from, ServerCallStreamObserver<SubscribeResponse> out, Executor executor) {
        this.feeds = feeds;
        this.store = feeds.store();
        this.key = key;
        this.next = from;
        this.out = out;
        this.executor = executor;
        out.setOnCancelHandler(this::end);
        out.setOnReadyHandler(this::wake);
        this.unlisten = events.listen(key, this::wake);
        wake();
    }

    private void wake() {
        if (!done && wanted.getAndIncrement() == 0) {
            executor.execute(this::drain);
        }
    }

    /** Sends until caught up or not ready, again as long as wakes came in meanwhile (one drain at a time). */
    private void drain() {
        int missed = 1;
        do {
            try {
                sendAvailable();
            } catch (DataAccessException e) {
                fail(Status.UNAVAILABLE.withDescription("the feed store is unavailable: " + e.getMostSpecificCause().getMessage()));
            } catch (RuntimeException e) {
                fail(Status.INTERNAL.withDescription("the tail of feed " + key + " failed: " + e));
            }
            missed = wanted.addAndGet(-missed);
        } while (missed != 0);
    }

    private void sendAvailable() {
        while (!done && out.isReady()) {
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
                if (done) {
                    return;
                }
                out.onNext(m.build());
                next++;
            }
        }
    }

    private void fail(Status status) {
        if (!done) {
            end();
            out.onError(status.asRuntimeException());
        }
    }

    private void end() {
        done = true;
        unlisten.run();
    }
}
