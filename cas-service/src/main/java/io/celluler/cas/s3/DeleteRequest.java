package io.celluler.cas.s3;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The body of a DeleteObjects request: {@code <Delete><Quiet/><Object><Key/></Object>...</Delete>}. */
record DeleteRequest(boolean quiet, List<String> keys) {

    static final int MAX_KEYS = 1000;

    static DeleteRequest parse(byte[] xml) {
        Document doc;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            // no DTDs, no external entities: a request body is data, never a fetch (XXE)
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setExpandEntityReferences(false);
            f.setNamespaceAware(true);
            doc = f.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
        } catch (Exception e) {
            throw new S3Exception(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
        }
        Element root = doc.getDocumentElement();
        if (!root.getLocalName().equals("Delete")) {
            throw new S3Exception(400, "MalformedXML", "The root element must be Delete");
        }
        boolean quiet = false;
        List<String> keys = new ArrayList<>();
        NodeList children = root.getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            if (!(children.item(i) instanceof Element e)) {
                continue;
            }
            switch (e.getLocalName()) {
                case "Quiet" -> quiet = Boolean.parseBoolean(e.getTextContent().trim());
                case "Object" -> {
                    NodeList k = e.getElementsByTagNameNS("*", "Key");
                    if (k.getLength() != 1) {
                        throw new S3Exception(400, "MalformedXML", "Each Object must have one Key");
                    }
                    keys.add(k.item(0).getTextContent());
                }
                default -> throw new S3Exception(400, "MalformedXML", "Unexpected element " + e.getLocalName());
            }
        }
        if (keys.isEmpty() || keys.size() > MAX_KEYS) {
            throw new S3Exception(400, "MalformedXML", "A Delete request names 1 to " + MAX_KEYS + " objects");
        }
        return new DeleteRequest(quiet, keys);
    }
}
