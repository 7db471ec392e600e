package io.celluler.catalog.grpc;

import java.util.List;
import java.util.concurrent.Executor;

import io.celluler.catalog.node.CatalogNode;
import io.celluler.catalog.query.LabelSelector;
import io.celluler.catalog.store.CatalogStore.ChangeRow;
import io.celluler.core.grpc.LiveStream;
import io.celluler.proto.catalog.v1.ChangeType;
import io.celluler.proto.catalog.v1.WatchEntriesResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import org.springframework.dao.DataAccessException;

/**
 * One WatchEntries stream: the changes after a cursor from the change feed, then each new one once committed, until
 * the caller cancels (flow control and wake-ups: {@link LiveStream}).
 */
final class Watch extends LiveStream<WatchEntriesResponse> {

    static final int PAGE = 64;

    private final CatalogNode node;
    private final int type;
    private final LabelSelector selector;
    private long next;

    Watch(CatalogNode node, long after, int type, LabelSelector selector,
            ServerCallStreamObserver<WatchEntriesResponse> out, Executor executor) {
        super(out, executor);
        this.node = node;
        this.next = after;
        this.type = type;
        this.selector = selector;
        start(node::listen);
    }

    @Override
    protected Status statusOf(RuntimeException e) {
        if (e instanceof DataAccessException d) {
            return Status.UNAVAILABLE.withDescription("the catalog store is unavailable: "
                    + d.getMostSpecificCause().getMessage());
        }
        return Status.INTERNAL.withDescription("watch failed: " + e.getMessage());
    }

    @Override
    protected void sendAvailable() {
        while (ready()) {
            List<ChangeRow> rows = node.store().changesAfter(next, PAGE);
            if (rows.isEmpty()) {
                return;
            }
            for (ChangeRow row : rows) {
                next = row.changeNo();
                var entry = row.entry();
                if ((type == 0 || entry.type() == type) && selector.matches(entry.labels())) {
                    out().onNext(WatchEntriesResponse.newBuilder()
                            .setChangeType(ChangeType.forNumber(row.kind()))
                            .setEntry(CatalogMessages.toProto(entry))
                            .setCursor(Long.toString(row.changeNo()))
                            .build());
                }
            }
        }
    }
}
