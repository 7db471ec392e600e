package io.celluler.catalog.engine;

import java.util.Comparator;

import com.google.protobuf.ByteString;

/**
 * The status register. Status only moves forward: PENDING, then FAILED or FINAL, and FINAL (consensus ordered the
 * registration; {@code finality} holds the proof) outranks a FAILED reported concurrently. Within one rank the later
 * reading wins.
 *
 * @param code the EntryStatus number of the proto (1 pending, 2 final, 3 failed)
 */
public record Status(int code, Hlc at, String reason, ByteString finality) {

    public static final int PENDING = 1;
    public static final int FINAL = 2;
    public static final int FAILED = 3;

    private static final Comparator<Status> ORDER = Comparator.comparingInt((Status s) -> rank(s.code))
            .thenComparing(Status::at)
            .thenComparing(Status::reason)
            .thenComparing(Status::finality, ByteString.unsignedLexicographicalComparator());

    public Status {
        if (rank(code) < 0 || at == null || reason == null || finality == null) {
            throw new IllegalArgumentException("not a status: " + code);
        }
    }

    public static int rank(int code) {
        return switch (code) {
            case PENDING -> 0;
            case FAILED -> 1;
            case FINAL -> 2;
            default -> -1;
        };
    }

    public static Status join(Status a, Status b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return ORDER.compare(a, b) >= 0 ? a : b;
    }
}
