package io.celluler.network.engine.membership;

/** SWIM member states. At equal incarnation a later state in this order overrides an earlier one. */
public enum MemberState {
    ALIVE, SUSPECT, DEAD, LEFT
}
