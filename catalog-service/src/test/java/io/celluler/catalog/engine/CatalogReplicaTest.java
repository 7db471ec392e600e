package io.celluler.catalog.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import com.google.protobuf.ByteString;
import io.celluler.catalog.engine.CatalogReplica.ChangeKind;
import io.celluler.catalog.engine.CatalogReplica.DeltaBatch;
import io.celluler.proto.catalog.v1.EntryCrdt;
import io.celluler.proto.catalog.v1.LabelVersion;
import org.junit.jupiter.api.Test;

/** What the catalog's CRDTs mean, case by case, on replicas exchanging gossip and anti-entropy. */
class CatalogReplicaTest {

    static final String ID = "00112233445566778899aabbccddeeff";
    long now = 1_000;

    static CatalogReplica replica(String cell) {
        return new CatalogReplica(cell, 60_000, 100_000);
    }

    Map<String, String> create(CatalogReplica r, String id, Map<String, String> labels) {
        return r.create(id, 1, "snap-" + id.substring(0, 4), "", "ab".repeat(32), 100, ByteString.EMPTY, labels,
                ByteString.EMPTY, now++).entry().labels();
    }

    /** Every change of {@code from} that {@code to} lacks, and the acknowledgement back. */
    static void gossip(CatalogReplica from, CatalogReplica to, long now) {
        DeltaBatch b = from.gossipTo(to.self(), 100_000);
        to.onDeltas(b, now);
        from.onAck(to.self(), to.knowledgeVector());
    }

    static void exchange(List<CatalogReplica> rs, long now) {
        for (CatalogReplica a : rs) {
            for (CatalogReplica b : rs) {
                if (a != b) {
                    gossip(a, b, now);
                }
            }
        }
    }

    static AntiEntropy.Result antiEntropy(CatalogReplica from, CatalogReplica with, long now) {
        AntiEntropy.Session s = new AntiEntropy.Session(from, with.self(), AntiEntropy.Limits.DEFAULT);
        for (AntiEntropy.Request q = s.next(); q != null; q = s.next()) {
            s.onResponse(AntiEntropy.answer(with, from.self(), q, now, 512 * 1024).response(), now);
        }
        return s.result();
    }

    @Test
    void aLabelSetConcurrentWithItsRemovalStays() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of("env", "dev"));
        gossip(a, b, now);
        a.updateLabels(ID, Map.of("env", "prod"), Set.of(), now++);
        b.updateLabels(ID, Map.of(), Set.of("env"), now++);
        exchange(List.of(a, b), now);
        assertThat(a.visible(ID).labels()).containsExactly(Map.entry("env", "prod"));
        assertThat(b.visible(ID).labels()).containsExactly(Map.entry("env", "prod"));
    }

    @Test
    void concurrentSetsOfOneKeyBothStayUntilTheNextSetAndTheLaterIsShown() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of());
        gossip(a, b, now);
        a.updateLabels(ID, Map.of("tier", "gold"), Set.of(), now);
        b.updateLabels(ID, Map.of("tier", "silver"), Set.of(), now + 5);
        exchange(List.of(a, b), now + 6);
        assertThat(a.visible(ID).labelVersions()).hasSize(2);
        assertThat(a.visible(ID).labels()).containsEntry("tier", "silver");
        assertThat(b.visible(ID).labels()).containsEntry("tier", "silver");

        a.updateLabels(ID, Map.of("tier", "bronze"), Set.of(), now + 7);
        exchange(List.of(a, b), now + 8);
        assertThat(b.visible(ID).labelVersions()).hasSize(1);
        assertThat(b.visible(ID).labels()).containsExactly(Map.entry("tier", "bronze"));
    }

    @Test
    void anObservedRemoveRemoves() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of("env", "dev", "team", "x"));
        gossip(a, b, now);
        b.updateLabels(ID, Map.of(), Set.of("env"), now++);
        exchange(List.of(a, b), now);
        assertThat(a.visible(ID).labels()).containsExactly(Map.entry("team", "x"));
    }

    @Test
    void aDeleteWinsOverAConcurrentUpdateAndALateDeltaDoesNotBringItBack() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of());
        gossip(a, b, now);
        a.delete(ID, now++);
        b.updateLabels(ID, Map.of("env", "prod"), Set.of(), now++);
        b.updateFields(ID, "renamed", null, null, 5L, null, now++);
        DeltaBatch late = b.gossipTo("a", 100);
        exchange(List.of(a, b), now);
        assertThat(a.entries().get(ID).isDeleted()).isTrue();
        assertThat(b.entries().get(ID).isDeleted()).isTrue();
        assertThatThrownBy(() -> b.visible(ID)).isInstanceOf(UnknownEntryException.class);
        assertThatThrownBy(() -> b.updateLabels(ID, Map.of("x", "y"), Set.of(), now))
                .isInstanceOf(UnknownEntryException.class);
        // the same gossip delivered again, late
        assertThat(a.onDeltas(late, now)).isEmpty();
        assertThat(a.entries().get(ID).isDeleted()).isTrue();
    }

    @Test
    void concurrentMetadataWritesStayVisibleTogether() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of());
        gossip(a, b, now);
        a.updateMetadata(ID, ByteString.copyFromUtf8("A"), now);
        b.updateMetadata(ID, ByteString.copyFromUtf8("B"), now + 1);
        exchange(List.of(a, b), now + 2);
        assertThat(a.visible(ID).metadata()).extracting(m -> m.struct().toStringUtf8()).containsExactly("B", "A");
        b.updateMetadata(ID, ByteString.copyFromUtf8("C"), now + 3);
        exchange(List.of(a, b), now + 4);
        assertThat(a.visible(ID).metadata()).extracting(m -> m.struct().toStringUtf8()).containsExactly("C");
    }

    @Test
    void countersAddUpOverCellsAndFinalOutranksAConcurrentFailure() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        create(a, ID, Map.of());
        gossip(a, b, now);
        a.addToCounter(ID, "pulls", 3, now);
        b.addToCounter(ID, "pulls", 2, now);
        a.addToCounter(ID, "pulls", -1, now);
        a.updateStatus(ID, Status.FINAL, "", ByteString.copyFromUtf8("proof"), now);
        b.updateStatus(ID, Status.FAILED, "timeout", ByteString.EMPTY, now + 10);
        b.setLocation(ID, 1, true, now);
        exchange(List.of(a, b), now + 11);
        for (CatalogReplica r : List.of(a, b)) {
            EntryState e = r.visible(ID);
            assertThat(e.counters()).containsExactly(Map.entry("pulls", 4L));
            assertThat(e.status().code()).isEqualTo(Status.FINAL);
            assertThat(e.status().finality().toStringUtf8()).isEqualTo("proof");
            assertThat(e.locations().values()).singleElement()
                    .satisfies(l -> assertThat(l.cell()).isEqualTo("b"));
        }
    }

    @Test
    void anEntryWithoutItsCreationIsHiddenUntilItArrives() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        CatalogReplica c = replica("c");
        List.of(a, b, c).forEach(r -> r.setMembers(List.of("a", "b", "c")));
        create(a, ID, Map.of());
        gossip(a, b, now);
        b.updateLabels(ID, Map.of("k", "v"), Set.of(), now++);
        // c hears from b first: only the label delta
        CatalogReplica.Change ch = c.onDeltas(b.gossipTo("c", 10), now).getFirst();
        assertThat(ch.kind()).isEqualTo(ChangeKind.HIDDEN);
        assertThatThrownBy(() -> c.visible(ID)).isInstanceOf(UnknownEntryException.class);
        assertThat(c.onDeltas(a.gossipTo("c", 10), now).getFirst().kind()).isEqualTo(ChangeKind.CREATED);
        assertThat(c.visible(ID).labels()).containsEntry("k", "v");
    }

    @Test
    void theCodecRoundTripsAndRefusesWhatAPeerCouldGetWrong() {
        CatalogReplica a = replica("a");
        create(a, ID, Map.of("env", "dev"));
        a.updateMetadata(ID, ByteString.copyFromUtf8("m"), now);
        EntryState s = a.visible(ID);
        EntryCrdt wire = EntryCodec.encode(s);
        assertThat(EntryCodec.encode(EntryCodec.decode(wire))).isEqualTo(wire);

        assertThatThrownBy(() -> EntryCodec.decode(wire.toBuilder().setEntryId("XYZ").build()))
                .hasMessageContaining("entry_id");
        LabelVersion stray = wire.getLabels(0).toBuilder()
                .setDot(wire.getLabels(0).getDot().toBuilder().setCounter(99)).build();
        assertThatThrownBy(() -> EntryCodec.decode(wire.toBuilder().setLabels(0, stray).build()))
                .hasMessageContaining("labels").hasMessageContaining("context");
        assertThatThrownBy(() -> EntryCodec.decode(wire.toBuilder()
                .setStatus(wire.getStatus().toBuilder().setStatus(7)).build())).hasMessageContaining("status");
        assertThatThrownBy(() -> EntryCodec.decode(wire.toBuilder()
                .setName(wire.getName().toBuilder().setNumber(3)).build())).hasMessageContaining("name");
    }

    @Test
    void aTombstoneIsCollectedOnlyOnceEveryMemberHasSeenItAndWhatWasConcurrentWithIt() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        CatalogReplica c = replica("c");
        List<CatalogReplica> all = List.of(a, b, c);
        all.forEach(r -> r.setMembers(List.of("a", "b", "c")));
        create(a, ID, Map.of());
        exchange(all, now);
        a.delete(ID, now++);
        c.updateLabels(ID, Map.of("late", "yes"), Set.of(), now++); // concurrent with the deletion
        DeltaBatch late = c.gossipTo("a", 100);
        // a and b exchange; c is cut off: nobody may collect
        gossip(a, b, now);
        gossip(b, a, now);
        assertThat(a.collectGarbage()).isEmpty();
        assertThat(b.collectGarbage()).isEmpty();
        // c hears everything; a few more exchanges spread the reports
        for (int i = 0; i < 4; i++) {
            exchange(all, now);
            all.forEach(CatalogReplica::collectGarbage);
        }
        for (CatalogReplica r : all) {
            assertThat(r.entries()).as(r.self()).doesNotContainKey(ID);
            assertThat(r.tombstoneCount()).isZero();
        }
        // c's concurrent change, delivered again late, does not bring the entry back anywhere
        assertThat(late.deltas()).hasSize(1);
        assertThat(a.onDeltas(late, now)).isEmpty();
        assertThat(a.entries()).doesNotContainKey(ID);
    }

    @Test
    void aMemberThatNeverReportsHoldsCollectionBack() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        a.setMembers(List.of("a", "b", "silent"));
        b.setMembers(List.of("a", "b", "silent"));
        create(a, ID, Map.of());
        a.delete(ID, now++);
        for (int i = 0; i < 3; i++) {
            exchange(List.of(a, b), now);
        }
        assertThat(a.collectGarbage()).isEmpty();
        assertThat(a.stableVector()).isEmpty();
        a.forget("silent");
        b.forget("silent");
        for (int i = 0; i < 3; i++) {
            exchange(List.of(a, b), now);
            a.collectGarbage();
            b.collectGarbage();
        }
        assertThat(a.entries()).isEmpty();
        assertThat(b.entries()).isEmpty();
    }

    @Test
    void antiEntropyFindsOneDifferenceAmongManyInAFewRoundTripsAndShipsOnlyIt() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        Random rnd = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            create(a, randomId(rnd), Map.of("n", Integer.toString(i)));
        }
        gossip(a, b, now);
        String changed = a.entries().keySet().stream().skip(12_345).findFirst().orElseThrow();
        a.updateLabels(changed, Map.of("n", "changed"), Set.of(), now++);
        assertThat(a.digest("").sameAs(b.digest(""))).isFalse();

        AntiEntropy.Result r = antiEntropy(b, a, now);

        assertThat(b.visible(changed).labels()).containsEntry("n", "changed");
        assertThat(a.digest("").sameAs(b.digest(""))).isTrue();
        assertThat(r.divergentRanges()).isEqualTo(1);
        assertThat(r.entriesReceived()).isEqualTo(1);
        assertThat(r.entriesSent()).isEqualTo(1); // b's older copy goes to a, which merges it to nothing new
        // 20,000 entries: 16^3 = 4,096 ranges hold ~5 each: 3 levels of digests, a listing, a fetch, the last word
        assertThat(r.roundTrips()).isLessThanOrEqualTo(6);
        // after a round b holds every change a had made when it began
        assertThat(b.knowledgeVector().get("a")).isEqualTo(a.seq());
    }

    @Test
    void antiEntropyAloneConvergesReplicasThatNeverGossiped() {
        CatalogReplica a = replica("a");
        CatalogReplica b = replica("b");
        Random rnd = new Random(3);
        for (int i = 0; i < 300; i++) {
            create(i % 2 == 0 ? a : b, randomId(rnd), Map.of());
        }
        String first = a.entries().firstKey();
        a.delete(first, now++);
        antiEntropy(a, b, now);
        assertThat(a.digest("").sameAs(b.digest(""))).isTrue();
        assertThat(b.entries().get(first).isDeleted()).isTrue();
        assertThat(a.liveCount()).isEqualTo(299);
        assertThat(b.liveCount()).isEqualTo(299);
        // both sides learned the other's changes up to the round's start
        assertThat(a.knowledgeVector()).containsEntry("b", b.seq());
        assertThat(b.knowledgeVector()).containsEntry("a", a.seq());
    }

    static String randomId(Random rnd) {
        byte[] b = new byte[16];
        rnd.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
