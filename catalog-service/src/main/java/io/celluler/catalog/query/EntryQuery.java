package io.celluler.catalog.query;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Function;

import io.celluler.catalog.engine.EntryState;
import io.celluler.catalog.engine.Hlc;
import io.celluler.core.hash.Sha256;

/**
 * A query over the replica's visible entries: filters, one sort key (ties broken by entry id), and keyset
 * pagination — a page token holds the sort key and id of the last entry given, so the next page starts right after
 * it whatever was added or removed meanwhile (an entry is never given twice or skipped because others came or
 * went; one whose sort key changed between pages is found where its new key puts it). Pure: the caller runs it
 * under the replica's read lock.
 *
 */
public final class EntryQuery {

    private final int type;
    private final String namePrefix;
    private final String selectorText;
    private final LabelSelector selector;
    private final int status;
    private final String owner;
    private final long minSize;
    private final long maxSize;
    private final Long createdAfter;
    private final Long createdBefore;
    private final Sort sort;

    /**
     * @param type          entry type number, 0 for all
     * @param labelSelector a {@link LabelSelector}, empty for all
     * @param status        status number, 0 for all
     * @param minSize       inclusive, 0 for none
     * @param maxSize       inclusive, 0 for none
     * @param createdAfter  inclusive lower bound of the creation time in epoch milliseconds, null for none
     * @param createdBefore exclusive upper bound, null for none
     * @throws IllegalArgumentException for a selector that does not parse
     */
    public EntryQuery(int type, String namePrefix, String labelSelector, int status, String owner, long minSize,
            long maxSize, Long createdAfter, Long createdBefore, Sort sort) {
        this.type = type;
        this.namePrefix = namePrefix == null ? "" : namePrefix;
        this.selectorText = labelSelector == null ? "" : labelSelector.strip();
        this.selector = LabelSelector.parse(selectorText);
        this.status = status;
        this.owner = owner == null ? "" : owner;
        this.minSize = minSize;
        this.maxSize = maxSize;
        this.createdAfter = createdAfter;
        this.createdBefore = createdBefore;
        this.sort = sort;
    }

    /** A sort key and its direction. */
    public record Sort(String field, boolean descending) {

        public static final List<String> FIELDS = List.of("name", "created_at", "updated_at", "size_bytes");

        /**
         * Parses {@code name}, {@code -created_at}, ...; empty means {@code name}.
         *
         * @throws IllegalArgumentException for another field
         */
        public static Sort parse(String text) {
            if (text == null || text.isBlank()) {
                return new Sort("name", false);
            }
            String t = text.strip();
            boolean desc = t.startsWith("-");
            String f = desc ? t.substring(1) : t;
            if (!FIELDS.contains(f)) {
                throw new IllegalArgumentException("sort by one of " + FIELDS + ", with a leading '-' for descending;"
                        + " not '" + text + "'");
            }
            return new Sort(f, desc);
        }
    }

    /** One page: the entries and the token of the next page (empty when there is none). */
    public record Page<T>(List<T> entries, String nextToken) {

        public <U> Page<U> map(Function<T, U> f) {
            return new Page<>(entries.stream().map(f).toList(), nextToken);
        }
    }

    public boolean matches(EntryState e) {
        if (!e.isComplete()) {
            return false;
        }
        if (type != 0 && e.type() != type) {
            return false;
        }
        if (status != 0 && e.status().code() != status) {
            return false;
        }
        if (!namePrefix.isEmpty() && !e.name().value().startsWith(namePrefix)) {
            return false;
        }
        if (!owner.isEmpty() && !owner.equals(e.owner())) {
            return false;
        }
        long size = e.sizeBytes().value();
        if ((minSize > 0 && size < minSize) || (maxSize > 0 && size > maxSize)) {
            return false;
        }
        long created = e.createdAt().millis();
        if ((createdAfter != null && created < createdAfter) || (createdBefore != null && created >= createdBefore)) {
            return false;
        }
        return selector.isEmpty() || selector.matches(e.labels());
    }

    /** The sort key of an entry as a string that compares the way the entries sort (ascending). */
    String key(EntryState e) {
        return switch (sort.field()) {
            case "created_at" -> hlcKey(e.createdAt());
            case "updated_at" -> hlcKey(e.updatedAt());
            case "size_bytes" -> String.format("%020d", e.sizeBytes().value());
            default -> e.name().value();
        };
    }

    private static String hlcKey(Hlc h) {
        return String.format("%020d.%010d.", h.millis(), h.logical()) + h.cell();
    }

    /**
     * The page of at most {@code pageSize} matching entries after {@code token}'s position.
     *
     * @throws IllegalArgumentException when the token is not one this query gave
     */
    public Page<EntryState> run(Collection<EntryState> entries, int pageSize, String token) {
        String[] after = token == null || token.isEmpty() ? null : decodeToken(token);
        Comparator<String[]> order = Comparator.<String[], String>comparing(k -> k[0]).thenComparing(k -> k[1]);
        if (sort.descending()) {
            order = order.reversed();
        }
        Comparator<String[]> ord = order;
        // the pageSize + 1 first entries after the token, kept in a heap whose head is the last of them
        PriorityQueue<Object[]> best = new PriorityQueue<>(pageSize + 2,
                (a, b) -> ord.compare((String[]) b[0], (String[]) a[0]));
        for (EntryState e : entries) {
            if (!matches(e)) {
                continue;
            }
            String[] k = {key(e), e.id()};
            if (after != null && ord.compare(k, after) <= 0) {
                continue;
            }
            if (best.size() <= pageSize) {
                best.add(new Object[] {k, e});
            } else if (ord.compare(k, (String[]) best.peek()[0]) < 0) {
                best.poll();
                best.add(new Object[] {k, e});
            }
        }
        List<Object[]> sorted = new ArrayList<>(best);
        sorted.sort((a, b) -> ord.compare((String[]) a[0], (String[]) b[0]));
        boolean more = sorted.size() > pageSize;
        List<EntryState> page = new ArrayList<>();
        for (int i = 0; i < Math.min(pageSize, sorted.size()); i++) {
            page.add((EntryState) sorted.get(i)[1]);
        }
        String next = "";
        if (more) {
            String[] last = (String[]) sorted.get(pageSize - 1)[0];
            next = encodeToken(last);
        }
        return new Page<>(page, next);
    }

    /** What a token is bound to: every part of the query but the page size and token. */
    private String fingerprint() {
        String q = type + "|" + namePrefix + "|" + selectorText + "|" + status + "|" + owner + "|" + minSize + "|"
                + maxSize + "|" + createdAfter + "|" + createdBefore + "|" + sort.field() + "|" + sort.descending();
        return Sha256.hexOf(q.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    }

    private String encodeToken(String[] last) {
        String raw = "1\n" + fingerprint() + "\n" + last[1] + "\n" + last[0];
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    private String[] decodeToken(String token) {
        String raw;
        try {
            raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a page token this service gave");
        }
        String[] parts = raw.split("\n", 4);
        if (parts.length != 4 || !parts[0].equals("1")) {
            throw new IllegalArgumentException("not a page token this service gave");
        }
        if (!parts[1].equals(fingerprint())) {
            throw new IllegalArgumentException("the token belongs to another query (a page token is only valid with"
                    + " the query that gave it)");
        }
        return new String[] {parts[3], parts[2]};
    }
}
