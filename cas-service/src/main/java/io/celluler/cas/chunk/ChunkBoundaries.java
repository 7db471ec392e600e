package io.celluler.cas.chunk;

/** Where chunks end: content-defined ({@link FastCdc}) or every so many bytes ({@link FixedSize}). */
public interface ChunkBoundaries {

    /**
     * The length of the chunk that starts at {@code buf[from]}, given {@code length} bytes available there (the
     * caller offers at least {@link #maxSize()} bytes unless the stream ends sooner).
     */
    int cut(byte[] buf, int from, int length);

    /** No chunk is longer. */
    int maxSize();
}
