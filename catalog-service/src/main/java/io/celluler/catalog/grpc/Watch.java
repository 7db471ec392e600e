package io.celluler.catalog.grpc;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

import io.celluler.catalog.node.CatalogNode;
import io.celluler.catalog.query.LabelSelector;
import io.celluler.catalog.store.CatalogStore.ChangeRow;
import io.celluler.proto.catalog.v1.ChangeType;
import io.celluler.proto.catalog.v1.WatchEntriesResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import org.springframework.dao.DataAccessException;

/**
 * One WatchEntries stream: the changes after a cursor from the change feed, then each new one once committed,
 * until the caller cancels. It sends while the call is ready (gRPC flow control: a slow reader holds nothing but its
 * position), wakes on commits and on the call becoming ready again, and drains on one task at a time.
 */
final class Watch {

    static final int PAGE = 64;

    private final CatalogNode node;
    private final int type;
    private final LabelSelector selector;
    private final ServerCallStreamObserver<WatchEntriesResponse> out;
    private final Executor executor;
    private final AtomicInteger wanted = new AtomicInteger();
    private final Runnable unlisten;
    private long next;
    private volatile boolean done;

    Watch(CatalogNode node, long after, int type, LabelSelector selector,
            ServerCallStreamObserver<WatchEntriesResponse> out, Executor executor) {
        this.node = node;
        this.next = after;
        this.type = type;
        this.selector = selector;
        this.out = out;
        this.executor = executor;
        out.setOnCancelHandler(this::end);
        out.setOnReadyHandler(this::wake);
        this.unlisten = node.listen(this::wake);
        wake();
    }

    private void wake() {
        if (!done && wanted.getAndIncrement() == 0) {
            executor.execute(this::drain);
        }
    }

    private void drain() {
        try {
            do {
                while (!done && out.isReady()) {
                    List<ChangeRow> rows = node.store().changesAfter(next, PAGE);
                    if (rows.isEmpty()) {
                        break;
                    }
                    for (ChangeRow row : rows) {
                        next = row.changeNo();
                        var entry = row.entry();
                        if ((type == 0 || entry.type() == type) && selector.matches(entry.labels())) {
                            out.onNext(WatchEntriesResponse.newBuilder()
                                    .setChangeType(ChangeType.forNumber(row.kind()))
                                    .setEntry(CatalogMessages.toProto(entry))
                                    .setCursor(Long.toString(row.changeNo()))
                                    .build());
                        }
                    }
                }
            } while (!done && wanted.decrementAndGet() > 0);
        } catch (DataAccessException e) {
            fail(Status.UNAVAILABLE.withDescription("the catalog store is unavailable: "
                    + e.getMostSpecificCause().getMessage()));
        } catch (RuntimeException e) {
            fail(Status.INTERNAL.withDescription("watch failed: " + e.getMessage()));
        }
    }

    private void fail(Status s) {
        if (!done) {
            end();
            try {
                out.onError(s.asRuntimeException());
            } catch (RuntimeException ignored) {
                // the call is gone already
            }
        }
    }

    private void end() {
        done = true;
        unlisten.run();
    }
}
