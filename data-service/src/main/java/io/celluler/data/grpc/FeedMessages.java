package io.celluler.data.grpc;

import java.util.HexFormat;

import com.google.protobuf.ByteString;
import io.celluler.core.hash.Sha256;
import io.celluler.data.feed.FeedStore.FeedRow;
import io.celluler.data.feed.FeedStore.Signed;
import io.celluler.data.feed.Feeds;
import io.celluler.data.tree.TreeHash.Node;
import io.celluler.proto.data.v1.FeedType;
import io.celluler.proto.data.v1.SignedRoot;
import io.celluler.proto.data.v1.TreeNode;

/**
 * Feeds' values as protobuf messages and back: signed roots and tree nodes (hashes as lowercase hex), feed types. A
 * message from another cell that does not parse is an {@link IllegalArgumentException} (the caller rejects it).
 */
public final class FeedMessages {

    private static final HexFormat HEX = HexFormat.of();

    private FeedMessages() {
    }

    public static SignedRoot signed(String key, Signed s) {
        return SignedRoot.newBuilder().setFeedKey(key).setLength(s.length()).setByteLength(s.byteLength())
                .setRoot(HEX.formatHex(s.rootHash())).setSignature(ByteString.copyFrom(s.signature())).build();
    }

    public static TreeNode node(Node n) {
        return TreeNode.newBuilder().setIndex(n.index()).setHash(HEX.formatHex(n.hash())).setSizeBytes(n.size()).build();
    }

    public static FeedType type(FeedRow f) {
        return Feeds.LOG.equals(f.type()) ? FeedType.FEED_TYPE_LOG : FeedType.FEED_TYPE_KEY_VALUE;
    }

    /** A signed root of feed {@code key} from another cell (its signature not checked here). */
    public static Signed signed(String key, SignedRoot s) {
        if (!key.equals(s.getFeedKey())) {
            throw new IllegalArgumentException("a signed root of feed " + s.getFeedKey() + ", not " + key);
        }
        if (s.getLength() < 0 || s.getByteLength() < 0 || s.getSignature().size() != 64) {
            throw new IllegalArgumentException("a signed root with a negative length or a signature of "
                    + s.getSignature().size() + " bytes");
        }
        return new Signed(s.getLength(), s.getByteLength(), hash(s.getRoot()), s.getSignature().toByteArray());
    }

    /** A tree node from another cell. */
    public static Node node(TreeNode n) {
        if (n.getIndex() < 0 || n.getSizeBytes() < 0) {
            throw new IllegalArgumentException("a tree node with a negative index or size");
        }
        return new Node(n.getIndex(), hash(n.getHash()), n.getSizeBytes());
    }

    private static byte[] hash(String hex) {
        if (!Sha256.isCanonicalHex(hex)) {
            throw new IllegalArgumentException("a hash that is not 64 lowercase hex characters");
        }
        return HEX.parseHex(hex);
    }
}
