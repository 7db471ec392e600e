package io.celluler.network.engine;

import io.celluler.proto.p2p.v1.RejectReason;

/** The outcome of checking a received envelope: accepted, or rejected for one reason (counted by reason). */
public record Verdict(RejectReason reason, String detail) {

    public static final Verdict ACCEPTED = new Verdict(null, "");

    public static Verdict reject(RejectReason reason, String detail) {
        return new Verdict(reason, detail);
    }

    public boolean accepted() {
        return reason == null;
    }
}
