package io.celluler.catalog.engine;

import com.google.protobuf.ByteString;

/** One version of an entry's metadata (a google.protobuf.Struct, encoded) as one cell wrote it at {@code at}. */
public record Metadata(ByteString struct, Hlc at) {
}
