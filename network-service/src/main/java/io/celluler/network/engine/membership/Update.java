package io.celluler.network.engine.membership;

/**
 * One member as gossiped: what {@code id} (reachable at {@code address}) is claimed to be at {@code incarnation}.
 * {@code meta} is opaque to the engine (the service puts the signed capabilities there).
 */
public record Update(String id, String address, long incarnation, MemberState state, String meta) {
}
