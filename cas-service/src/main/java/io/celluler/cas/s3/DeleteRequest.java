package io.celluler.cas.s3;

import java.util.ArrayList;
import java.util.List;

import org.w3c.dom.Element;

/** The body of a DeleteObjects request: {@code <Delete><Quiet/><Object><Key/></Object>...</Delete>}. */
record DeleteRequest(boolean quiet, List<String> keys) {

    static final int MAX_KEYS = 1000;

    static DeleteRequest parse(byte[] xml) {
        Element root = S3XmlBody.root(xml, "Delete");
        boolean quiet = false;
        List<String> keys = new ArrayList<>();
        for (Element e : S3XmlBody.children(root)) {
            switch (e.getLocalName()) {
                case "Quiet" -> quiet = Boolean.parseBoolean(e.getTextContent().trim());
                case "Object" -> keys.add(S3XmlBody.child(e, "Key"));
                default -> throw S3XmlBody.malformed("Unexpected element " + e.getLocalName());
            }
        }
        if (keys.isEmpty() || keys.size() > MAX_KEYS) {
            throw S3XmlBody.malformed("A Delete request names 1 to " + MAX_KEYS + " objects");
        }
        return new DeleteRequest(quiet, keys);
    }
}
