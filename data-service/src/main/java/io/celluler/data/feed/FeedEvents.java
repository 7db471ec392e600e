package io.celluler.data.feed;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

/**
 * Tells the live tails of a feed that it changed (an append committed here, or verified entries or a newer signed root
 * stored on a replica). A listener must return at once: it runs on the thread that committed.
 */
@Component
public class FeedEvents {

    private final Map<String, Set<Runnable>> listeners = new ConcurrentHashMap<>();

    /** Calls {@code onChange} after each change of feed {@code key} until the returned handle is run. */
    public Runnable listen(String key, Runnable onChange) {
        listeners.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(onChange);
        return () -> listeners.computeIfPresent(key, (k, set) -> {
            set.remove(onChange);
            return set.isEmpty() ? null : set;
        });
    }

    public void changed(String key) {
        Set<Runnable> set = listeners.get(key);
        if (set != null) {
            set.forEach(Runnable::run);
        }
    }
}
