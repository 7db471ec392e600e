package io.celluler.cas.s3;

import java.util.ArrayList;
import java.util.List;

import org.w3c.dom.Element;

/**
 * The body of a DeleteObjects request: {@code <Delete><Quiet/><Object><Key/><VersionId/></Object>...</Delete>}
 * (the version id optional).
 */
record DeleteRequest(boolean quiet, List<Entry> objects) {

    static final int MAX_KEYS = 1000;

    /** One object to delete; {@code versionId} null: as a DELETE without a version id. */
    record Entry(String key, String versionId) {
    }

    static DeleteRequest parse(byte[] xml) {
        Element root = S3XmlBody.root(xml, "Delete");
        boolean quiet = false;
        List<Entry> objects = new ArrayList<>();
        for (Element e : S3XmlBody.children(root)) {
            switch (e.getLocalName()) {
                case "Quiet" -> quiet = Boolean.parseBoolean(e.getTextContent().trim());
                case "Object" -> {
                    String versionId = null;
                    for (Element x : S3XmlBody.children(e)) {
                        if ("VersionId".equals(x.getLocalName())) {
                            versionId = x.getTextContent().trim();
                        }
                    }
                    objects.add(new Entry(S3XmlBody.child(e, "Key"), versionId));
                }
                default -> throw S3XmlBody.malformed("Unexpected element " + e.getLocalName());
            }
        }
        if (objects.isEmpty() || objects.size() > MAX_KEYS) {
            throw S3XmlBody.malformed("A Delete request names 1 to " + MAX_KEYS + " objects");
        }
        return new DeleteRequest(quiet, objects);
    }
}
