package io.celluler.cas.chunk;

/**
 * Cuts a stream that arrives in pieces of any size into chunks: bytes are held until {@code maxSize} of them are
 * there (or the stream ends), so a boundary is chosen with all the bytes it may depend on. One stream per
 * instance, one thread at a time; memory is one buffer of twice {@code maxSize}.
 */
public final class Chunker {

    /** Receives each chunk in order; the bytes are valid only during the call (copy what is kept). */
    @FunctionalInterface
    public interface Sink {
        void chunk(byte[] buf, int offset, int length);
    }

    private final ChunkBoundaries boundaries;
    private final byte[] buf;
    private int start;
    private int end;
    private long streamBytes;

    public Chunker(ChunkBoundaries boundaries) {
        this.boundaries = boundaries;
        this.buf = new byte[Math.multiplyExact(2, boundaries.maxSize())];
    }

    /** Bytes written so far. */
    public long streamBytes() {
        return streamBytes;
    }

    public void write(byte[] data, int offset, int length, Sink sink) {
        streamBytes += length;
        int max = boundaries.maxSize();
        while (length > 0) {
            if (end == buf.length) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            int n = Math.min(length, buf.length - end);
            System.arraycopy(data, offset, buf, end, n);
            end += n;
            offset += n;
            length -= n;
            while (end - start >= max) {
                emit(sink);
            }
        }
    }

    /** The stream ended: the bytes held become the last chunks. */
    public void finish(Sink sink) {
        while (end > start) {
            emit(sink);
        }
        start = 0;
        end = 0;
    }

    private void emit(Sink sink) {
        int len = boundaries.cut(buf, start, end - start);
        sink.chunk(buf, start, len);
        start += len;
    }
}
