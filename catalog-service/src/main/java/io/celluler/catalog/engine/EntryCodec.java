package io.celluler.catalog.engine;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.google.protobuf.ByteString;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.catalog.v1.CausalContext;
import io.celluler.proto.catalog.v1.DotStamp;
import io.celluler.proto.catalog.v1.EntryCrdt;
import io.celluler.proto.catalog.v1.HlcStamp;
import io.celluler.proto.catalog.v1.LabelVersion;
import io.celluler.proto.catalog.v1.LocationValue;
import io.celluler.proto.catalog.v1.LwwValue;
import io.celluler.proto.catalog.v1.MetadataVersion;
import io.celluler.proto.catalog.v1.StatusValue;

/**
 * {@link EntryState} to and from its canonical wire and storage form ({@code EntryCrdt}): every repeated field in
 * the state's sorted order, so equal states encode to equal bytes and {@link #hash} is a digest of the state.
 * {@link #decode} checks what a peer could get wrong and answers {@link IllegalArgumentException} naming it.
 */
public final class EntryCodec {

    /** Entry ids: 32 lowercase hex digits (128 random bits), so that ids spread evenly over the Merkle ranges. */
    public static final int ID_LENGTH = 32;

    private EntryCodec() {
    }

    public static boolean isEntryId(String id) {
        if (id == null || id.length() != ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    public static EntryCrdt encode(EntryState s) {
        EntryCrdt.Builder b = EntryCrdt.newBuilder().setEntryId(s.id()).setType(s.type());
        if (s.owner() != null) {
            b.setOwnerCellId(s.owner());
        }
        if (s.createdAt() != null) {
            b.setCreatedAt(hlc(s.createdAt()));
        }
        if (!s.context().isEmpty()) {
            CausalContext.Builder c = CausalContext.newBuilder();
            s.context().compactView().forEach((cell, n) -> c.addCompact(dot(new Dot(cell, n))));
            s.context().cloudView().forEach(d -> c.addCloud(dot(d)));
            b.setContext(c);
        }
        if (s.name() != null) {
            b.setName(LwwValue.newBuilder().setAt(hlc(s.name().at())).setText(s.name().value()));
        }
        if (s.version() != null) {
            b.setVersion(LwwValue.newBuilder().setAt(hlc(s.version().at())).setText(s.version().value()));
        }
        if (s.contentRoot() != null) {
            b.setContentRoot(LwwValue.newBuilder().setAt(hlc(s.contentRoot().at())).setText(s.contentRoot().value()));
        }
        if (s.sizeBytes() != null) {
            b.setSizeBytes(LwwValue.newBuilder().setAt(hlc(s.sizeBytes().at())).setNumber(s.sizeBytes().value()));
        }
        if (s.details() != null) {
            b.setDetails(LwwValue.newBuilder().setAt(hlc(s.details().at())).setBlob(s.details().value()));
        }
        s.metadataVersions().forEach((d, m) -> b.addMetadata(
                MetadataVersion.newBuilder().setDot(dot(d)).setStruct(m.struct()).setAt(hlc(m.at()))));
        s.labelVersions().forEach((d, l) -> b.addLabels(LabelVersion.newBuilder().setDot(dot(d)).setKey(l.key())
                .setValue(l.value()).setAt(hlc(l.at()))));
        if (s.status() != null) {
            Status st = s.status();
            b.setStatus(StatusValue.newBuilder().setStatus(st.code()).setAt(hlc(st.at())).setReason(st.reason())
                    .setFinality(st.finality()));
        }
        s.locations().values().forEach(l -> b.addLocations(LocationValue.newBuilder().setCellId(l.cell())
                .setKind(l.kind()).setPresent(l.present()).setVersion(l.version()).setSinceMillis(l.sinceMillis())));
        s.counterShares().values().forEach(c -> b.addCounters(io.celluler.proto.catalog.v1.CounterShare.newBuilder()
                .setName(c.name()).setCellId(c.cell()).setIncrements(c.increments())
                .setDecrements(c.decrements())));
        if (s.deletion() != null) {
            Deletion d = s.deletion();
            b.setDeletion(io.celluler.proto.catalog.v1.Deletion.newBuilder().setAt(hlc(d.at())).setCellId(d.cell())
                    .setSeq(d.seq()));
        }
        return b.build();
    }

    /** SHA-256 of the canonical encoding: equal states, equal hashes. */
    public static byte[] hash(EntryState s) {
        MessageDigest md = Sha256.newDigest();
        return md.digest(encode(s).toByteArray());
    }

    /**
     * A state from its encoding, checked: a well-formed id, readings and dots that name cells, versions whose dots
     * the state's context holds, known status codes, counters not below zero.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static EntryState decode(EntryCrdt m) {
        if (!isEntryId(m.getEntryId())) {
            throw new IllegalArgumentException("entry_id: not 32 lowercase hex digits");
        }
        EntryState s = new EntryState(m.getEntryId());
        if (m.hasCreatedAt()) {
            if (m.getOwnerCellId().isEmpty()) {
                throw new IllegalArgumentException("owner_cell_id: empty");
            }
            s.setHeader(m.getType(), m.getOwnerCellId(), hlc(m.getCreatedAt(), "created_at"));
        }
        if (m.hasDeletion()) {
            var d = m.getDeletion();
            if (d.getCellId().isEmpty() || d.getSeq() < 1) {
                throw new IllegalArgumentException("deletion: names no change");
            }
            s.setDeletion(new Deletion(hlc(d.getAt(), "deletion.at"), d.getCellId(), d.getSeq()));
            return s;
        }
        DotContext context = new DotContext();
        if (m.hasContext()) {
            TreeMap<String, Long> compact = new TreeMap<>();
            for (DotStamp d : m.getContext().getCompactList()) {
                compact.merge(dot(d, "context.compact").cell(), d.getCounter(), Math::max);
            }
            List<Dot> cloud = new ArrayList<>();
            for (DotStamp d : m.getContext().getCloudList()) {
                cloud.add(dot(d, "context.cloud"));
            }
            context = new DotContext(compact, cloud);
        }
        s.setContext(context);
        s.setFields(text(m.hasName() ? m.getName() : null, "name"),
                text(m.hasVersion() ? m.getVersion() : null, "version"),
                text(m.hasContentRoot() ? m.getContentRoot() : null, "content_root"),
                number(m.hasSizeBytes() ? m.getSizeBytes() : null),
                blob(m.hasDetails() ? m.getDetails() : null));
        for (MetadataVersion v : m.getMetadataList()) {
            Dot d = dot(v.getDot(), "metadata.dot");
            requireSeen(context, d, "metadata");
            s.putMetadata(d, new Metadata(v.getStruct(), hlc(v.getAt(), "metadata.at")));
        }
        for (LabelVersion v : m.getLabelsList()) {
            Dot d = dot(v.getDot(), "labels.dot");
            requireSeen(context, d, "labels");
            s.putLabel(d, new Label(v.getKey(), v.getValue(), hlc(v.getAt(), "labels.at")));
        }
        if (m.hasStatus()) {
            StatusValue v = m.getStatus();
            if (Status.rank(v.getStatus()) < 0) {
                throw new IllegalArgumentException("status: unknown code " + v.getStatus());
            }
            s.setStatus(new Status(v.getStatus(), hlc(v.getAt(), "status.at"), v.getReason(), v.getFinality()));
        }
        for (LocationValue v : m.getLocationsList()) {
            if (v.getCellId().isEmpty() || v.getVersion() < 1) {
                throw new IllegalArgumentException("locations: names no cell or version");
            }
            s.putLocation(new Location(v.getCellId(), v.getKind(), v.getPresent(), v.getVersion(),
                    v.getSinceMillis()));
        }
        for (var v : m.getCountersList()) {
            if (v.getCellId().isEmpty() || v.getIncrements() < 0 || v.getDecrements() < 0) {
                throw new IllegalArgumentException("counters: names no cell or goes below zero");
            }
            s.putCounter(new CounterShare(v.getName(), v.getCellId(), v.getIncrements(), v.getDecrements()));
        }
        return s;
    }

    private static void requireSeen(DotContext context, Dot d, String field) {
        if (!context.contains(d)) {
            throw new IllegalArgumentException(field + ": dot " + d + " is not in the entry's context");
        }
    }

    private static HlcStamp hlc(Hlc h) {
        return HlcStamp.newBuilder().setMillis(h.millis()).setLogical(h.logical()).setCellId(h.cell()).build();
    }

    private static Hlc hlc(HlcStamp h, String field) {
        if (h.getCellId().isEmpty()) {
            throw new IllegalArgumentException(field + ": a reading names its cell");
        }
        return new Hlc(h.getMillis(), h.getLogical(), h.getCellId());
    }

    private static DotStamp dot(Dot d) {
        return DotStamp.newBuilder().setCellId(d.cell()).setCounter(d.counter()).build();
    }

    private static Dot dot(DotStamp d, String field) {
        if (d.getCellId().isEmpty() || d.getCounter() < 1) {
            throw new IllegalArgumentException(field + ": a dot names a cell and counts from 1");
        }
        return new Dot(d.getCellId(), d.getCounter());
    }

    private static Lww<String> text(LwwValue v, String field) {
        if (v == null) {
            return null;
        }
        if (v.getValueCase() != LwwValue.ValueCase.TEXT) {
            throw new IllegalArgumentException(field + ": not text");
        }
        return new Lww<>(v.getText(), hlc(v.getAt(), field + ".at"));
    }

    private static Lww<Long> number(LwwValue v) {
        if (v == null) {
            return null;
        }
        if (v.getValueCase() != LwwValue.ValueCase.NUMBER || v.getNumber() < 0) {
            throw new IllegalArgumentException("size_bytes: not a number of bytes");
        }
        return new Lww<>(v.getNumber(), hlc(v.getAt(), "size_bytes.at"));
    }

    private static Lww<ByteString> blob(LwwValue v) {
        if (v == null) {
            return null;
        }
        if (v.getValueCase() != LwwValue.ValueCase.BLOB) {
            throw new IllegalArgumentException("details: not bytes");
        }
        return new Lww<>(v.getBlob(), hlc(v.getAt(), "details.at"));
    }

}
