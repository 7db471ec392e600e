package io.celluler.catalog.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import io.celluler.catalog.engine.CatalogReplica.Change;
import io.celluler.catalog.engine.CatalogReplica.RangeDigest;

/**
 * Anti-entropy between two replicas: the one that starts a round walks down the tree of id ranges (16 children per
 * range, one hex digit each) only where the digests differ, lists the ids of a range once it holds few entries on
 * both sides, and then pulls the states it lacks or holds differently and pushes its own. One differing entry among
 * {@code N} costs about {@code log16(N)} round trips of 16 digests each, a listing and one state each way, not a
 * stream of the whole range (what Cassandra's repair sends when a range differs).
 *
 * <p>Each request carries at most the limits given, so that a round over many differences stays within a message
 * size; the round goes on until nothing is left. The last request says {@code complete}: the answering replica then
 * holds the effect of every change of the starting one up to the round's start, and so does the starting one of
 * the answering one ({@link CatalogReplica#markSynced}).
 */
public final class AntiEntropy {

    /** What the starting replica asks (and pushes). */
    public record Request(int round, List<String> childrenOf, List<String> listUnder, List<String> fetch, List<EntryState> push,
            boolean complete, long senderSeq, Map<String, Long> senderKnowledge) {
    }

    /** What the answering replica answers: child digests and listings asked for, the states fetched. */
    /** {@code deferred}: ids asked for and held but not sent (the answer was full); ask again. */
    public record Response(int round, Map<String, List<RangeDigest>> children, Map<String, SortedMap<String, byte[]>> listings,
            List<EntryState> states, List<String> deferred, long senderSeq, Map<String, Long> senderKnowledge) {
    }

    /** An answer and the changes the pushed states made on the answering replica. */
    public record Answer(Response response, List<Change> changes) {
    }

    /**
     * Per-request limits: ranges with at most {@code leafEntries} entries on both sides are listed rather than split;
     * a request asks for at most so many child digests, listings and states and pushes states of about
     * {@code stateBytes} encoded at most (an answer sends about as many, and defers the rest).
     */
    public record Limits(int leafEntries, int prefixesPerRequest, int listingsPerRequest, int fetchPerRequest,
            int pushPerRequest, int stateBytes) {

        public static final Limits DEFAULT = new Limits(32, 256, 64, 256, 256, 512 * 1024);
    }

    /** How a finished round went. */
    public record Result(int roundTrips, int divergentRanges, int entriesSent, int entriesReceived) {
    }

    private AntiEntropy() {
    }

    /** The answering side: merges what was pushed, answers what was asked (states up to about {@code stateBytes}). */
    public static Answer answer(CatalogReplica replica, String from, Request request, long nowMillis, int stateBytes) {
        List<Change> changes = replica.mergeStates(request.push(), nowMillis);
        if (request.complete()) {
            replica.markSynced(from, request.senderSeq(), request.senderKnowledge());
        }
        Map<String, List<RangeDigest>> children = new LinkedHashMap<>();
        request.childrenOf().forEach(p -> children.put(p, replica.childDigests(p)));
        Map<String, SortedMap<String, byte[]>> listings = new LinkedHashMap<>();
        request.listUnder().forEach(p -> listings.put(p, replica.hashesUnder(p)));
        List<EntryState> states = new ArrayList<>();
        List<String> deferred = new ArrayList<>();
        long bytes = 0;
        for (String id : request.fetch()) {
            EntryState s = replica.state(id);
            if (s == null) {
                continue;
            }
            if (!states.isEmpty() && bytes >= stateBytes) {
                deferred.add(id);
                continue;
            }
            bytes += EntryCodec.encode(s).getSerializedSize();
            states.add(s);
        }
        return new Answer(new Response(request.round(), children, listings, states, deferred, replica.seq(),
                replica.knowledgeVector()), changes);
    }

    /** The starting side of one round with one peer. */
    public static final class Session {

        private final CatalogReplica replica;
        private final String peer;
        private final Limits limits;
        private final Deque<String> toDescend = new ArrayDeque<>();
        private final Deque<String> toList = new ArrayDeque<>();
        private final Deque<String> toFetch = new ArrayDeque<>();
        private final Deque<String> toPush = new ArrayDeque<>();
        private final long seqAtStart;
        private final Map<String, Long> knowledgeAtStart;
        private long peerSeqAtStart = -1;
        private Map<String, Long> peerKnowledge = Map.of();
        private int roundTrips;
        private int divergentRanges;
        private int sent;
        private int received;
        private boolean finished;
        private boolean awaiting;
        private final List<Change> changes = new ArrayList<>();

        public Session(CatalogReplica replica, String peer, Limits limits) {
            this.replica = replica;
            this.peer = peer;
            this.limits = limits;
            this.seqAtStart = replica.seq();
            this.knowledgeAtStart = replica.knowledgeVector();
            toDescend.add("");
        }

        public String peer() {
            return peer;
        }

        /**
         * The next request, or null when the round is over (after the {@code complete} one was answered).
         *
         * @throws IllegalStateException while the last request is unanswered
         */
        public Request next() {
            if (awaiting) {
                throw new IllegalStateException("request " + roundTrips + " is not answered yet");
            }
            if (finished) {
                return null;
            }
            List<String> childrenOf = take(toDescend, limits.prefixesPerRequest());
            List<String> listUnder = take(toList, limits.listingsPerRequest());
            List<String> fetch = take(toFetch, limits.fetchPerRequest());
            List<EntryState> push = new ArrayList<>();
            long bytes = 0;
            while (!toPush.isEmpty() && push.size() < limits.pushPerRequest()
                    && (push.isEmpty() || bytes < limits.stateBytes())) {
                EntryState s = replica.state(toPush.poll());
                if (s != null) {
                    bytes += EntryCodec.encode(s).getSerializedSize();
                    push.add(s);
                }
            }
            sent += push.size();
            // nothing more can come to push once no digest or listing is outstanding and the queues are drained
            boolean complete = peerSeqAtStart >= 0 && toDescend.isEmpty() && toList.isEmpty() && toFetch.isEmpty()
                    && toPush.isEmpty() && childrenOf.isEmpty() && listUnder.isEmpty();
            if (complete) {
                finished = true;
            }
            roundTrips++;
            awaiting = true;
            // what the answering replica may take as held once the round is complete: this replica's changes up
            // to the round's start (later ones were not compared), and its knowledge then
            return new Request(roundTrips, childrenOf, listUnder, fetch, push, complete, seqAtStart,
                    knowledgeAtStart);
        }

        /**
         * Takes the peer's answer to the last request in: merges the states it sent, queues what differs. An answer
         * to any other request (a duplicate, a late one) is ignored: answers false.
         */
        public boolean onResponse(Response r, long nowMillis) {
            if (!awaiting || r.round() != roundTrips) {
                return false;
            }
            awaiting = false;
            if (peerSeqAtStart < 0) {
                peerSeqAtStart = r.senderSeq();
                peerKnowledge = r.senderKnowledge();
            }
            received += r.states().size();
            changes.addAll(replica.mergeStates(r.states(), nowMillis));
            toFetch.addAll(r.deferred());
            if (finished && !r.deferred().isEmpty()) {
                finished = false; // the last answer was full: fetch the rest, then say complete again
            }
            r.children().forEach((prefix, theirs) -> {
                List<RangeDigest> mine = replica.childDigests(prefix);
                for (int i = 0; i < 16 && i < theirs.size(); i++) {
                    if (mine.get(i).sameAs(theirs.get(i))) {
                        continue;
                    }
                    String child = prefix + Character.forDigit(i, 16);
                    if (mine.get(i).count() + theirs.get(i).count() <= limits.leafEntries()
                            || child.length() >= EntryCodec.ID_LENGTH) {
                        toList.add(child);
                        divergentRanges++;
                    } else {
                        toDescend.add(child);
                    }
                }
            });
            r.listings().forEach((prefix, theirs) -> {
                SortedMap<String, byte[]> mine = replica.hashesUnder(prefix);
                theirs.forEach((id, h) -> {
                    byte[] m = mine.get(id);
                    if (m == null || !Arrays.equals(m, h)) {
                        toFetch.add(id);
                    }
                });
                mine.forEach((id, h) -> {
                    byte[] t = theirs.get(id);
                    if (t == null || !Arrays.equals(t, h)) {
                        toPush.add(id);
                    }
                });
            });
            if (finished) {
                replica.markSynced(peer, peerSeqAtStart, peerKnowledge);
            }
            return true;
        }

        public boolean isFinished() {
            return finished;
        }

        /** The changes the states pulled made here so far. */
        public List<Change> changes() {
            return changes;
        }

        public Result result() {
            return new Result(roundTrips, divergentRanges, sent, received);
        }

        private static List<String> take(Deque<String> q, int max) {
            List<String> out = new ArrayList<>();
            while (!q.isEmpty() && out.size() < max) {
                out.add(q.poll());
            }
            return out;
        }
    }
}
