package io.celluler.catalog.grpc;

import java.util.List;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import io.celluler.catalog.engine.EntryState;
import io.celluler.catalog.engine.Hlc;
import io.celluler.catalog.engine.Location;
import io.celluler.catalog.engine.Metadata;
import io.celluler.proto.catalog.v1.CatalogEntry;
import io.celluler.proto.catalog.v1.EntryStatus;
import io.celluler.proto.catalog.v1.EntryType;
import io.celluler.proto.catalog.v1.Finality;
import io.celluler.proto.catalog.v1.LocationKind;

/** Entry states to the API's {@link CatalogEntry}; the details oneof to and from the bytes the CRDT keeps. */
final class CatalogMessages {

    private CatalogMessages() {
    }

    /** The API view of a visible entry (call under the replica's lock: it reads the live state). */
    static CatalogEntry toProto(EntryState e) {
        CatalogEntry.Builder b = CatalogEntry.newBuilder()
                .setEntryId(e.id())
                .setType(EntryType.forNumber(e.type()) == null ? EntryType.ENTRY_TYPE_UNSPECIFIED
                        : EntryType.forNumber(e.type()))
                .setName(e.name().value())
                .setVersion(e.version() == null ? "" : e.version().value())
                .setOwnerCellId(e.owner())
                .setContentRoot(e.contentRoot() == null ? "" : e.contentRoot().value())
                .setSizeBytes(e.sizeBytes() == null ? 0 : e.sizeBytes().value())
                .putAllLabels(e.labels())
                .putAllCounters(e.counters())
                .setCreatedAt(timestamp(e.createdAt()))
                .setUpdatedAt(timestamp(e.updatedAt()));
        List<Metadata> md = e.metadata();
        for (int i = 0; i < md.size(); i++) {
            Struct s = struct(md.get(i).struct());
            if (i == 0) {
                b.setMetadata(s);
            } else {
                b.addConcurrentMetadata(s);
            }
        }
        var st = e.status();
        b.setStatus(EntryStatus.forNumber(st.code()));
        if (st.code() == io.celluler.catalog.engine.Status.FAILED) {
            b.setStatusReason(st.reason());
        }
        if (st.code() == io.celluler.catalog.engine.Status.FINAL && !st.finality().isEmpty()) {
            try {
                b.setFinality(Finality.parseFrom(st.finality()));
            } catch (InvalidProtocolBufferException ex) {
                throw new IllegalStateException("a stored finality proof does not parse", ex);
            }
        }
        for (Location l : e.locations().values()) {
            if (l.present()) {
                b.addLocations(io.celluler.proto.catalog.v1.Location.newBuilder().setCellId(l.cell())
                        .setKind(LocationKind.forNumber(l.kind()) == null ? LocationKind.LOCATION_KIND_UNSPECIFIED
                                : LocationKind.forNumber(l.kind()))
                        .setSince(millis(l.sinceMillis())));
            }
        }
        if (e.details() != null && !e.details().value().isEmpty()) {
            try {
                b.mergeFrom(e.details().value());
            } catch (InvalidProtocolBufferException ex) {
                throw new IllegalStateException("stored entry details do not parse", ex);
            }
        }
        return b.build();
    }

    /** The details oneof of a request, as the bytes the CRDT keeps (a CatalogEntry holding only the oneof). */
    static ByteString details(CatalogEntry.Builder holder) {
        CatalogEntry d = holder.build();
        return d.getDetailsCase() == CatalogEntry.DetailsCase.DETAILS_NOT_SET ? ByteString.EMPTY : d.toByteString();
    }

    static Struct struct(ByteString bytes) {
        try {
            return Struct.parseFrom(bytes);
        } catch (InvalidProtocolBufferException ex) {
            throw new IllegalStateException("stored metadata does not parse", ex);
        }
    }

    static Timestamp timestamp(Hlc h) {
        return h == null ? Timestamp.getDefaultInstance() : millis(h.millis());
    }

    static Timestamp millis(long ms) {
        return Timestamp.newBuilder().setSeconds(Math.floorDiv(ms, 1000)).setNanos((int) Math.floorMod(ms, 1000) * 1_000_000)
                .build();
    }
}
