package io.celluler.network.engine.membership;

import java.util.List;

/** Membership protocol messages (mapped to {@code celluler.p2p.v1.MembershipMessage} on the wire). */
public sealed interface Message {

    /** The sender. */
    String from();

    /** Updates piggy-backed for dissemination. */
    List<Update> updates();

    record Ping(String from, long seq, String target, List<Update> updates) implements Message {
    }

    record PingReq(String from, long seq, String target, String targetAddress, boolean nackWanted, List<Update> updates)
            implements Message {
    }

    record Ack(String from, long seq, String target, List<Update> updates) implements Message {
    }

    record Nack(String from, long seq, String target, List<Update> updates) implements Message {
    }

    /** Full state exchange (join, anti-entropy, reconnect); {@code updates} is the sender's whole view. */
    record PushPull(String from, boolean join, boolean replyWanted, List<Update> updates) implements Message {
    }

    /** A gossip round: only piggy-backed updates. */
    record Gossip(String from, List<Update> updates) implements Message {
    }
}
