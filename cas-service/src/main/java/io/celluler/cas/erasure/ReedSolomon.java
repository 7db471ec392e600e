package io.celluler.cas.erasure;

import java.util.Arrays;

/**
 * A systematic Reed–Solomon erasure code over GF(2^8): {@code k} data shards and {@code m} parity shards of equal
 * length, any {@code k} of which give back all of them. This is the codec of erasure-coded buckets (content spread
 * as k + m shards over k + m cells survives the loss of any m); placement across cells builds on it.
 *
 * <p>Construction: the encoding matrix is the k×k identity over an m×k Cauchy matrix {@code 1 / (x_i + y_j)} with
 * distinct {@code x_i = k + i} and {@code y_j = j}, so every k×k submatrix of the (k+m)×k matrix is invertible (a
 * square Cauchy matrix is; so is any mix of identity rows and Cauchy rows) — any k surviving shards decode.
 * Field: GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), products from a 64 KiB table.
 */
public final class ReedSolomon {

    /** Shards in all at most: the field has 256 elements, and x and y values must be distinct. */
    public static final int MAX_SHARDS = 256;

    private static final byte[] EXP = new byte[512];
    private static final int[] LOG = new int[256];
    private static final byte[][] MUL = new byte[256][256];

    static {
        int x = 1;
        for (int i = 0; i < 255; i++) {
            EXP[i] = (byte) x;
            LOG[x] = i;
            x <<= 1;
            if ((x & 0x100) != 0) {
                x ^= 0x11D;
            }
        }
        for (int i = 255; i < EXP.length; i++) {
            EXP[i] = EXP[i - 255];
        }
        for (int a = 1; a < 256; a++) {
            for (int b = 1; b < 256; b++) {
                MUL[a][b] = EXP[LOG[a] + LOG[b]];
            }
        }
    }

    private final int k;
    private final int m;
    /** (k+m)×k: identity rows, then parity rows. */
    private final byte[][] matrix;

    public ReedSolomon(int dataShards, int parityShards) {
        if (dataShards < 1 || parityShards < 0 || dataShards + parityShards > MAX_SHARDS) {
            throw new IllegalArgumentException("need 1 <= k, 0 <= m, k + m <= " + MAX_SHARDS + " (got k=" + dataShards
                    + ", m=" + parityShards + ")");
        }
        this.k = dataShards;
        this.m = parityShards;
        this.matrix = new byte[k + m][k];
        for (int i = 0; i < k; i++) {
            matrix[i][i] = 1;
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                matrix[k + i][j] = inverse((byte) ((k + i) ^ j)); // 1 / (x_i + y_j); addition is XOR
            }
        }
    }

    public int dataShards() {
        return k;
    }

    public int parityShards() {
        return m;
    }

    /** The m parity shards of {@code data} (k shards of one length). */
    public byte[][] encode(byte[][] data) {
        if (data.length != k) {
            throw new IllegalArgumentException("expected " + k + " data shards, got " + data.length);
        }
        int len = commonLength(data);
        byte[][] parity = new byte[m][len];
        for (int i = 0; i < m; i++) {
            multiplyRow(matrix[k + i], data, parity[i], len);
        }
        return parity;
    }

    /** The length of each shard of a chunk of {@code chunkLength} bytes: ceil(length / k) (at least 1). */
    public int shardLength(int chunkLength) {
        return Math.max(1, (chunkLength + k - 1) / k);
    }

    /** The k data shards of {@code chunk}: consecutive slices of {@link #shardLength} bytes, the last zero-padded. */
    public byte[][] split(byte[] chunk) {
        int len = shardLength(chunk.length);
        byte[][] data = new byte[k][len];
        for (int i = 0; i < k; i++) {
            int from = i * len;
            if (from < chunk.length) {
                System.arraycopy(chunk, from, data[i], 0, Math.min(len, chunk.length - from));
            }
        }
        return data;
    }

    /** Shard {@code index} (data shards first, then parity) of {@code chunk}; only that one is computed. */
    public byte[] shard(byte[] chunk, int index) {
        if (index < 0 || index >= k + m) {
            throw new IllegalArgumentException("shard index " + index + " is outside 0.." + (k + m - 1));
        }
        if (index < k) {
            int len = shardLength(chunk.length);
            byte[] out = new byte[len];
            int from = index * len;
            if (from < chunk.length) {
                System.arraycopy(chunk, from, out, 0, Math.min(len, chunk.length - from));
            }
            return out;
        }
        byte[][] data = split(chunk);
        byte[] out = new byte[data[0].length];
        multiplyRow(matrix[index], data, out, out.length);
        return out;
    }

    /** The chunk of {@code length} bytes that the k data shards (the first k entries of {@code shards}) hold. */
    public byte[] join(byte[][] shards, int length) {
        int len = shards[0].length;
        if ((long) len * k < length) {
            throw new IllegalArgumentException(k + " shards of " + len + " bytes cannot hold " + length + " bytes");
        }
        byte[] chunk = new byte[length];
        for (int i = 0; i < k && i * len < length; i++) {
            System.arraycopy(shards[i], 0, chunk, i * len, Math.min(len, length - i * len));
        }
        return chunk;
    }

    /**
     * Fills in the missing shards (null entries) of {@code shards} (k data then m parity, in place) from any k that
     * are present.
     *
     * @throws IllegalArgumentException when fewer than k are present, or they differ in length
     */
    public void reconstruct(byte[][] shards) {
        if (shards.length != k + m) {
            throw new IllegalArgumentException("expected " + (k + m) + " shards, got " + shards.length);
        }
        int[] present = new int[k];
        int found = 0;
        for (int i = 0; i < shards.length && found < k; i++) {
            if (shards[i] != null) {
                present[found++] = i;
            }
        }
        if (found < k) {
            throw new IllegalArgumentException("only " + found + " of " + (k + m) + " shards are present; " + k + " are needed");
        }
        byte[][] survivors = new byte[k][];
        for (int i = 0; i < k; i++) {
            survivors[i] = shards[present[i]];
        }
        int len = commonLength(survivors);
        boolean dataMissing = false;
        for (int i = 0; i < k; i++) {
            dataMissing |= shards[i] == null;
        }
        if (dataMissing) {
            // the rows of the survivors, inverted, turn them back into the data
            byte[][] sub = new byte[k][];
            for (int i = 0; i < k; i++) {
                sub[i] = matrix[present[i]].clone();
            }
            byte[][] decode = invert(sub);
            for (int i = 0; i < k; i++) {
                if (shards[i] == null) {
                    shards[i] = new byte[len];
                    multiplyRow(decode[i], survivors, shards[i], len);
                }
            }
        }
        byte[][] data = Arrays.copyOf(shards, k);
        for (int i = 0; i < m; i++) {
            if (shards[k + i] == null) {
                shards[k + i] = new byte[len];
                multiplyRow(matrix[k + i], data, shards[k + i], len);
            }
        }
    }

    /** out = Σ row[j] · in[j], bytewise. */
    private static void multiplyRow(byte[] row, byte[][] in, byte[] out, int len) {
        Arrays.fill(out, 0, len, (byte) 0);
        for (int j = 0; j < row.length; j++) {
            int c = row[j] & 0xFF;
            if (c == 0) {
                continue;
            }
            byte[] src = in[j];
            if (c == 1) {
                for (int b = 0; b < len; b++) {
                    out[b] ^= src[b];
                }
            } else {
                byte[] mul = MUL[c];
                for (int b = 0; b < len; b++) {
                    out[b] ^= mul[src[b] & 0xFF];
                }
            }
        }
    }

    private static int commonLength(byte[][] shards) {
        int len = shards[0].length;
        for (byte[] s : shards) {
            if (s.length != len) {
                throw new IllegalArgumentException("shards differ in length (" + len + " and " + s.length + ")");
            }
        }
        return len;
    }

    static byte multiply(byte a, byte b) {
        return MUL[a & 0xFF][b & 0xFF];
    }

    static byte inverse(byte a) {
        if (a == 0) {
            throw new ArithmeticException("0 has no inverse");
        }
        return EXP[255 - LOG[a & 0xFF]];
    }

    /** The inverse of a square matrix over GF(2^8), by Gauss–Jordan elimination (the input is consumed). */
    static byte[][] invert(byte[][] a) {
        int n = a.length;
        byte[][] inv = new byte[n][n];
        for (int i = 0; i < n; i++) {
            inv[i][i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            while (pivot < n && a[pivot][col] == 0) {
                pivot++;
            }
            if (pivot == n) {
                throw new ArithmeticException("singular matrix");
            }
            byte[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            t = inv[col];
            inv[col] = inv[pivot];
            inv[pivot] = t;
            byte scale = inverse(a[col][col]);
            for (int j = 0; j < n; j++) {
                a[col][j] = multiply(a[col][j], scale);
                inv[col][j] = multiply(inv[col][j], scale);
            }
            for (int row = 0; row < n; row++) {
                byte f = a[row][col];
                if (row == col || f == 0) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    a[row][j] ^= multiply(f, a[col][j]);
                    inv[row][j] ^= multiply(f, inv[col][j]);
                }
            }
        }
        return inv;
    }
}
