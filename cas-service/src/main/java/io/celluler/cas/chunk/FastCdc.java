package io.celluler.cas.chunk;

/**
 * Content-defined chunk boundaries by FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined
 * Chunking Approach for Data Deduplication", USENIX ATC 2016, and its 2020 TPDS extension).
 *
 * <p>A gear hash rolls over the bytes: {@code fp = (fp << 1) + GEAR[b]}, so bit {@code k} of {@code fp} depends
 * on the last {@code k + 1} bytes only, and a boundary found in one copy of some content is found again in another
 * copy wherever that content sits in the stream. The three ideas of the paper, all here:
 * <ul>
 *   <li><b>cut-point skipping</b>: hashing starts at {@code minSize} (a chunk is never smaller, and the bytes before
 *       it need not be looked at);</li>
 *   <li><b>normalised chunking</b> (§3.3, level 2): before {@code avgSize} a boundary needs {@code log2(avg) + 2}
 *       zero bits (harder), after it {@code log2(avg) - 2} (easier), which pulls chunk sizes towards the average
 *       and keeps the dedup ratio of small chunks with fewer of them;</li>
 *   <li>masks on the <em>top</em> bits of {@code fp}: those bits depend on a window of up to 64 bytes, which is what
 *       makes boundaries content-defined (the paper spreads its mask bits for the same reason).</li>
 * </ul>
 * The gear table is fixed (generated from a constant seed by SplitMix64): changing it would move every boundary,
 * and with them what deduplicates against chunks already stored. {@code FastCdcTest} pins boundaries to vectors.
 *
 * <p>Stateless and thread-safe: {@link #cut} answers one boundary at a time.
 */
public final class FastCdc implements ChunkBoundaries {

    /** Smallest {@code minSize} accepted. */
    public static final int MIN_SIZE_FLOOR = 64;
    /** Largest {@code maxSize} accepted (a chunk is one file and one network message). */
    public static final int MAX_SIZE_CEILING = 64 * 1024 * 1024;

    private static final long[] GEAR = gearTable(0x43454c4c554c4552L); // "CELLULER"

    private final int minSize;
    private final int avgSize;
    private final int maxSize;
    private final long maskHard;
    private final long maskEasy;

    /**
     * @param minSize smallest chunk (but the stream's last), at least {@value #MIN_SIZE_FLOOR}
     * @param avgSize the target average, a power of two with {@code minSize <= avgSize <= maxSize}
     * @param maxSize largest chunk, at most {@value #MAX_SIZE_CEILING}
     */
    public FastCdc(int minSize, int avgSize, int maxSize) {
        if (minSize < MIN_SIZE_FLOOR || maxSize > MAX_SIZE_CEILING || minSize > avgSize || avgSize > maxSize) {
            throw new IllegalArgumentException("chunk sizes must satisfy " + MIN_SIZE_FLOOR + " <= min <= avg <= max <= "
                    + MAX_SIZE_CEILING + " (got min " + minSize + ", avg " + avgSize + ", max " + maxSize + ")");
        }
        if (Integer.bitCount(avgSize) != 1) {
            throw new IllegalArgumentException("the average chunk size must be a power of two (got " + avgSize + ")");
        }
        this.minSize = minSize;
        this.avgSize = avgSize;
        this.maxSize = maxSize;
        int bits = Integer.numberOfTrailingZeros(avgSize);
        this.maskHard = topBits(Math.min(63, bits + 2));
        this.maskEasy = topBits(Math.max(1, bits - 2));
    }

    public int minSize() {
        return minSize;
    }

    public int avgSize() {
        return avgSize;
    }

    @Override
    public int maxSize() {
        return maxSize;
    }

    /**
     * The length of the chunk that starts at {@code from}: at most {@code length} (the bytes available) and
     * {@code maxSize}. When fewer than {@code maxSize} bytes are available and no boundary is found among them, the
     * answer is {@code length}; a streaming caller that has more bytes to come reads more before it trusts such an
     * answer (see {@link Chunker}).
     */
    @Override
    public int cut(byte[] buf, int from, int length) {
        if (length <= minSize) {
            return length;
        }
        int n = Math.min(length, maxSize);
        int normal = Math.min(avgSize, n);
        long fp = 0;
        int i = minSize;
        for (; i < normal; i++) {
            fp = (fp << 1) + GEAR[buf[from + i] & 0xff];
            if ((fp & maskHard) == 0) {
                return i + 1;
            }
        }
        for (; i < n; i++) {
            fp = (fp << 1) + GEAR[buf[from + i] & 0xff];
            if ((fp & maskEasy) == 0) {
                return i + 1;
            }
        }
        return n;
    }

    private static long topBits(int count) {
        return -1L << (64 - count);
    }

    private static long[] gearTable(long seed) {
        long[] t = new long[256];
        long x = seed;
        for (int i = 0; i < t.length; i++) {
            // SplitMix64 (Steele, Lea, Flood 2014): well-mixed 64-bit values from a counter
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            t[i] = z ^ (z >>> 31);
        }
        return t;
    }
}
