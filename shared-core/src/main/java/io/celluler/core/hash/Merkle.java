package io.celluler.core.hash;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A Merkle tree over a list of SHA-256 values given as hex — a block's transaction ids (consensus), an object's
 * chunk hashes (cas) — with RFC 6962 §2.1 domain separation: leaves hash {@code 0x00 || id}, nodes
 * {@code 0x01 || left || right}; an odd node at the end of a level is carried up unchanged, which gives RFC 6962's
 * left-balanced tree. The root of an empty list is the hash of the empty string. Ids are 64 hex characters.
 */
public final class Merkle {

    private static final HexFormat HEX = HexFormat.of();

    private Merkle() {
    }

    public static String rootOfIds(List<String> ids) {
        if (ids.isEmpty()) {
            return Sha256.hexOf(new byte[0]);
        }
        List<byte[]> level = leaves(ids);
        while (level.size() > 1) {
            level = up(level);
        }
        return HEX.formatHex(level.get(0));
    }

    /** The audit path of leaf {@code index}: the sibling of each level from the leaves up (none where carried). */
    public static List<String> proof(List<String> ids, int index) {
        if (index < 0 || index >= ids.size()) {
            throw new IllegalArgumentException("leaf index " + index + " outside 0.." + (ids.size() - 1));
        }
        List<String> path = new ArrayList<>();
        List<byte[]> level = leaves(ids);
        int i = index;
        while (level.size() > 1) {
            int sibling = (i & 1) == 0 ? i + 1 : i - 1;
            if (sibling < level.size()) {
                path.add(HEX.formatHex(level.get(sibling)));
            }
            level = up(level);
            i /= 2;
        }
        return path;
    }

    /** True when {@code path} leads from leaf {@code id} at {@code index} of {@code count} to {@code root}. */
    public static boolean verify(String id, int index, int count, List<String> path, String root) {
        if (count < 1 || index < 0 || index >= count || !Sha256.isCanonicalHex(id)) {
            return false;
        }
        try {
            byte[] h = leaf(id);
            int i = index;
            int size = count;
            int used = 0;
            while (size > 1) {
                boolean right = (i & 1) == 1;
                if (right || i + 1 < size) {
                    if (used >= path.size()) {
                        return false;
                    }
                    byte[] sibling = HEX.parseHex(path.get(used++));
                    h = right ? node(sibling, h) : node(h, sibling);
                }
                i /= 2;
                size = (size + 1) / 2;
            }
            return used == path.size() && HEX.formatHex(h).equals(root);
        } catch (IllegalArgumentException notHex) {
            return false;
        }
    }

    private static List<byte[]> leaves(List<String> ids) {
        List<byte[]> level = new ArrayList<>(ids.size());
        for (String id : ids) {
            level.add(leaf(id));
        }
        return level;
    }

    private static List<byte[]> up(List<byte[]> level) {
        List<byte[]> up = new ArrayList<>((level.size() + 1) / 2);
        for (int i = 0; i < level.size(); i += 2) {
            up.add(i + 1 < level.size() ? node(level.get(i), level.get(i + 1)) : level.get(i));
        }
        return up;
    }

    static byte[] leaf(String id) {
        MessageDigest d = Sha256.newDigest();
        d.update((byte) 0);
        d.update(HEX.parseHex(id));
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
