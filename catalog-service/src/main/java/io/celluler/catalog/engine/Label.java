package io.celluler.catalog.engine;

/** One version of a label: the key's value as one cell set it at {@code at}. */
public record Label(String key, String value, Hlc at) {
}
