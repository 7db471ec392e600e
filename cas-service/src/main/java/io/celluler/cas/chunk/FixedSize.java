package io.celluler.cas.chunk;

/** Chunks of one size (the last may be shorter): the seed's fixed segments, and for data that never repeats. */
public record FixedSize(int size) implements ChunkBoundaries {

    public FixedSize {
        if (size < FastCdc.MIN_SIZE_FLOOR || size > FastCdc.MAX_SIZE_CEILING) {
            throw new IllegalArgumentException("a fixed chunk size must be between " + FastCdc.MIN_SIZE_FLOOR + " and "
                    + FastCdc.MAX_SIZE_CEILING + " bytes (got " + size + ")");
        }
    }

    @Override
    public int cut(byte[] buf, int from, int length) {
        return Math.min(length, size);
    }

    @Override
    public int maxSize() {
        return size;
    }
}
