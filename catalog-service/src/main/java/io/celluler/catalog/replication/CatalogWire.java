package io.celluler.catalog.replication;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.AntiEntropy;
import io.celluler.catalog.engine.CatalogReplica.RangeDigest;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.engine.EntryState;
import io.celluler.proto.catalog.v1.AntiEntropyAnswer;
import io.celluler.proto.catalog.v1.AntiEntropyAsk;
import io.celluler.proto.catalog.v1.ChildDigests;
import io.celluler.proto.catalog.v1.DotStamp;
import io.celluler.proto.catalog.v1.IdHash;
import io.celluler.proto.catalog.v1.KnowledgeReport;
import io.celluler.proto.catalog.v1.Listing;
import io.celluler.proto.catalog.v1.RangeDigestMsg;

/**
 * The anti-entropy and gossip messages of the engine to and from their wire form ({@code peer.proto}). What comes
 * from another cell is checked: a malformed message answers {@link IllegalArgumentException} naming what is wrong.
 */
public final class CatalogWire {

    private CatalogWire() {
    }

    public static KnowledgeReport report(Map<String, Long> v) {
        KnowledgeReport.Builder b = KnowledgeReport.newBuilder();
        v.forEach((c, n) -> b.addKnown(DotStamp.newBuilder().setCellId(c).setCounter(n)));
        return b.build();
    }

    public static Map<String, Long> vector(KnowledgeReport r) {
        TreeMap<String, Long> v = new TreeMap<>();
        r.getKnownList().forEach(d -> v.merge(d.getCellId(), d.getCounter(), Math::max));
        return v;
    }

    public static AntiEntropyAsk ask(AntiEntropy.Request q) {
        AntiEntropyAsk.Builder b = AntiEntropyAsk.newBuilder().setRound(q.round()).addAllChildrenOf(q.childrenOf())
                .addAllListUnder(q.listUnder()).addAllFetch(q.fetch()).setComplete(q.complete())
                .setSenderSeq(q.senderSeq()).setSenderKnowledge(report(q.senderKnowledge()));
        q.push().forEach(s -> b.addPush(EntryCodec.encode(s)));
        return b.build();
    }

    /** A request from another cell (its pushed states decoded and checked, its prefixes checked). */
    public static AntiEntropy.Request request(AntiEntropyAsk a) {
        List<EntryState> push = new ArrayList<>(a.getPushCount());
        a.getPushList().forEach(m -> push.add(EntryCodec.decode(m)));
        a.getChildrenOfList().forEach(p -> checkPrefix(p, EntryCodec.ID_LENGTH - 1));
        a.getListUnderList().forEach(p -> checkPrefix(p, EntryCodec.ID_LENGTH));
        return new AntiEntropy.Request(a.getRound(), a.getChildrenOfList(), a.getListUnderList(), a.getFetchList(),
                push, a.getComplete(), a.getSenderSeq(), vector(a.getSenderKnowledge()));
    }

    /** An answer, encoded (call under the replica's lock: its states are live objects). */
    public static AntiEntropyAnswer answer(AntiEntropy.Response r) {
        AntiEntropyAnswer.Builder b = AntiEntropyAnswer.newBuilder().setRound(r.round())
                .setSenderSeq(r.senderSeq()).setSenderKnowledge(report(r.senderKnowledge()));
        r.children().forEach((prefix, digests) -> {
            ChildDigests.Builder c = ChildDigests.newBuilder().setPrefix(prefix);
            digests.forEach(d -> c.addChildren(RangeDigestMsg.newBuilder().setXor(ByteString.copyFrom(d.xor()))
                    .setCount(d.count())));
            b.addChildren(c);
        });
        r.listings().forEach((prefix, hashes) -> {
            Listing.Builder l = Listing.newBuilder().setPrefix(prefix);
            hashes.forEach((id, h) -> l.addEntries(IdHash.newBuilder().setEntryId(id).setHash(ByteString.copyFrom(h))));
            b.addListings(l);
        });
        r.states().forEach(s -> b.addStates(EntryCodec.encode(s)));
        b.addAllDeferred(r.deferred());
        return b.build();
    }

    /** An answer from another cell, checked. */
    public static AntiEntropy.Response response(AntiEntropyAnswer a) {
        Map<String, List<RangeDigest>> children = new LinkedHashMap<>();
        for (ChildDigests c : a.getChildrenList()) {
            checkPrefix(c.getPrefix(), EntryCodec.ID_LENGTH - 1);
            if (c.getChildrenCount() != 16) {
                throw new IllegalArgumentException("a range split in " + c.getChildrenCount() + " children, not 16");
            }
            List<RangeDigest> ds = new ArrayList<>();
            for (RangeDigestMsg d : c.getChildrenList()) {
                if (d.getXor().size() != 32) {
                    throw new IllegalArgumentException("a range digest of " + d.getXor().size() + " bytes");
                }
                ds.add(new RangeDigest(d.getXor().toByteArray(), d.getCount()));
            }
            children.put(c.getPrefix(), ds);
        }
        Map<String, SortedMap<String, byte[]>> listings = new LinkedHashMap<>();
        for (Listing l : a.getListingsList()) {
            checkPrefix(l.getPrefix(), EntryCodec.ID_LENGTH);
            TreeMap<String, byte[]> m = new TreeMap<>();
            for (IdHash e : l.getEntriesList()) {
                if (!EntryCodec.isEntryId(e.getEntryId()) || e.getHash().size() != 32) {
                    throw new IllegalArgumentException("a listing entry that is not an id and a SHA-256");
                }
                m.put(e.getEntryId(), e.getHash().toByteArray());
            }
            listings.put(l.getPrefix(), m);
        }
        List<EntryState> states = new ArrayList<>();
        a.getStatesList().forEach(s -> states.add(EntryCodec.decode(s)));
        return new AntiEntropy.Response(a.getRound(), children, listings, states, a.getDeferredList(),
                a.getSenderSeq(), vector(a.getSenderKnowledge()));
    }

    static void checkPrefix(String prefix, int maxLength) {
        boolean ok = prefix.length() <= maxLength;
        for (int i = 0; ok && i < prefix.length(); i++) {
            char c = prefix.charAt(i);
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }
        if (!ok) {
            throw new IllegalArgumentException("a range prefix that is not lowercase hex of at most " + maxLength
                    + " digits");
        }
    }
}
