package io.celluler.network.engine.membership;

/** A message the driver must send to {@code address}. */
public record Outbound(String address, Message message) {
}
