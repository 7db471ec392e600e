package io.celluler.catalog.grpc;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.regex.Pattern;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import io.celluler.catalog.engine.EntryCodec;
import io.celluler.catalog.query.LabelSyntax;
import io.celluler.core.grpc.GrpcErrors;
import io.celluler.core.hash.Sha256;
import io.celluler.proto.catalog.v1.CatalogEntry;

/**
 * The checks of what callers send, each failing with INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for a limit) naming
 * the field. The limits are documented in docs/architecture/catalog-service.md.
 */
final class CatalogRequests {

    static final int MAX_NAME = 253;
    static final int MAX_LABELS = 64;
    static final int MAX_METADATA_BYTES = 64 * 1024;
    static final int MAX_REASON = 1024;
    static final int SNAPSHOT = 1;
    static final int IMAGE = 2;
    static final int MODEL = 3;
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern MODEL_VERSION = Pattern.compile("[1-9][0-9]{0,9}");
    private static final Pattern COUNTER = Pattern.compile("[A-Za-z0-9_.-]{1,63}");

    private CatalogRequests() {
    }

    static String entryId(String id) {
        if (!EntryCodec.isEntryId(id)) {
            throw GrpcErrors.invalidArgument("entry_id", "is 32 lowercase hex digits (an id CreateEntry gave), not '"
                    + abbreviate(id) + "'");
        }
        return id;
    }

    static int type(int number) {
        if (number < SNAPSHOT || number > MODEL) {
            throw GrpcErrors.invalidArgument("type", "must be ENTRY_TYPE_SNAPSHOT, ENTRY_TYPE_IMAGE or ENTRY_TYPE_MODEL");
        }
        return number;
    }

    /** A type filter: 0 (all) or a known type. */
    static int typeFilter(int number) {
        return number == 0 ? 0 : type(number);
    }

    static String name(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME) {
            throw GrpcErrors.invalidArgument("name", "1 to " + MAX_NAME + " characters, not " + name.length());
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                throw GrpcErrors.invalidArgument("name", "holds no control characters (one at " + i + ")");
            }
        }
        return name;
    }

    static String version(int type, String version) {
        switch (type) {
            case MODEL -> {
                if (!MODEL_VERSION.matcher(version).matches()) {
                    throw GrpcErrors.invalidArgument("version", "a model's version is a positive decimal number, not '"
                            + abbreviate(version) + "'");
                }
            }
            case IMAGE -> {
                if (!TAG.matcher(version).matches()) {
                    throw GrpcErrors.invalidArgument("version", "an image's version is its tag: 1-128 letters, digits,"
                            + " '_', '.', '-', not '" + abbreviate(version) + "'");
                }
            }
            default -> {
                if (!version.isEmpty()) {
                    throw GrpcErrors.invalidArgument("version", "snapshots have no version");
                }
            }
        }
        return version;
    }

    static String contentRoot(String root) {
        if (!root.isEmpty() && !Sha256.isCanonicalHex(root)) {
            throw GrpcErrors.invalidArgument("content_root", "a CAS manifest root: 64 lowercase hex digits");
        }
        return root;
    }

    static Map<String, String> labels(String field, Map<String, String> labels) {
        if (labels.size() > MAX_LABELS) {
            throw GrpcErrors.limitExceeded(field, "at most " + MAX_LABELS + " labels, not " + labels.size());
        }
        labels.forEach((k, v) -> {
            String p = LabelSyntax.keyProblem(k);
            if (p == null) {
                p = LabelSyntax.valueProblem(v);
            }
            if (p != null) {
                throw GrpcErrors.invalidArgument(field, p);
            }
        });
        return labels;
    }

    static ByteString metadata(Struct metadata) {
        ByteString b = metadata.toByteString();
        if (b.size() > MAX_METADATA_BYTES) {
            throw GrpcErrors.limitExceeded("metadata", "at most " + MAX_METADATA_BYTES + " bytes encoded, not "
                    + b.size());
        }
        return b;
    }

    /** The details must be the entry type's own kind (or absent). */
    static void details(int type, CatalogEntry.DetailsCase details) {
        int wanted = switch (details) {
            case SNAPSHOT -> SNAPSHOT;
            case IMAGE -> IMAGE;
            case MODEL -> MODEL;
            default -> 0;
        };
        if (wanted != 0 && wanted != type) {
            throw GrpcErrors.invalidArgument(details.name().toLowerCase(), "details of another type than the entry's");
        }
    }

    static String counter(String name) {
        if (!COUNTER.matcher(name).matches()) {
            throw GrpcErrors.invalidArgument("counter", "1-63 letters, digits, '-', '_', '.'");
        }
        return name;
    }

    static Long time(String field, String rfc3339) {
        if (rfc3339.isEmpty()) {
            return null;
        }
        try {
            return Instant.parse(rfc3339).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw GrpcErrors.invalidArgument(field, "an RFC 3339 time such as 2025-01-31T12:00:00Z, not '"
                    + abbreviate(rfc3339) + "'");
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
