package io.celluler.network.engine.membership;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Updates waiting to be piggy-backed (SWIM §4.4 "infection-style dissemination"): the least-sent go first,
 * newest first among equals; each is sent at most {@code limit} times; a newer update about a member
 * replaces the older one.
 */
final class BroadcastQueue {

    private record Entry(Update update, int transmits, long order) {
    }

    private static final Comparator<Entry> LEAST_SENT_NEWEST_FIRST = Comparator.comparingInt(Entry::transmits)
            .thenComparing(Comparator.comparingLong(Entry::order).reversed());

    private final TreeSet<Entry> queue = new TreeSet<>(LEAST_SENT_NEWEST_FIRST);
    private final Map<String, Entry> byMember = new HashMap<>();
    private long order;

    void add(Update u) {
        Entry old = byMember.remove(u.id());
        if (old != null) {
            queue.remove(old);
        }
        Entry e = new Entry(u, 0, order++);
        queue.add(e);
        byMember.put(u.id(), e);
    }

    /** Up to {@code max} updates to piggy-back now; each counts as one more transmission. */
    List<Update> take(int max, int limit) {
        if (queue.isEmpty()) {
            return List.of();
        }
        List<Entry> taken = new ArrayList<>(Math.min(max, queue.size()));
        while (taken.size() < max && !queue.isEmpty()) {
            taken.add(queue.pollFirst());
        }
        List<Update> out = new ArrayList<>(taken.size());
        for (Entry e : taken) {
            out.add(e.update());
            if (e.transmits() + 1 < limit) {
                Entry again = new Entry(e.update(), e.transmits() + 1, e.order());
                queue.add(again);
                byMember.put(e.update().id(), again);
            } else {
                byMember.remove(e.update().id());
            }
        }
        return out;
    }

    int size() {
        return queue.size();
    }
}
