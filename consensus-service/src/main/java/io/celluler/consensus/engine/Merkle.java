package io.celluler.consensus.engine;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import io.celluler.core.hash.Sha256;

/**
 * The Merkle root of a block's transactions (RFC 6962 style domain separation: leaves hash {@code 0x00 || id},
 * nodes {@code 0x01 || left || right}; an odd node is carried up unchanged). The root of no transactions is the
 * hash of the empty string.
 */
public final class Merkle {

    private Merkle() {
    }

    public static String root(List<Tx> txs) {
        if (txs.isEmpty()) {
            return Sha256.hexOf(new byte[0]);
        }
        List<byte[]> level = new ArrayList<>(txs.size());
        for (Tx tx : txs) {
            level.add(leaf(tx.id()));
        }
        while (level.size() > 1) {
            List<byte[]> up = new ArrayList<>((level.size() + 1) / 2);
            for (int i = 0; i < level.size(); i += 2) {
                up.add(i + 1 < level.size() ? node(level.get(i), level.get(i + 1)) : level.get(i));
            }
            level = up;
        }
        return HexFormat.of().formatHex(level.get(0));
    }

    static byte[] leaf(String txId) {
        MessageDigest d = Sha256.newDigest();
        d.update((byte) 0);
        d.update(HexFormat.of().parseHex(txId));
        return d.digest();
    }

    static byte[] node(byte[] left, byte[] right) {
        MessageDigest d = Sha256.newDigest();
        d.update((byte) 1);
        d.update(left);
        d.update(right);
        return d.digest();
    }
}
