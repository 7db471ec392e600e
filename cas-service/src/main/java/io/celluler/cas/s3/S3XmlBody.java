package io.celluler.cas.s3;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** Request bodies in XML (DeleteObjects, CompleteMultipartUpload), parsed safely. */
final class S3XmlBody {

    private S3XmlBody() {
    }

    /** The root element; no DTDs, no external entities (a request body is data, never a fetch: XXE). */
    static Element root(byte[] xml, String expectedRoot) {
        Element root;
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setExpandEntityReferences(false);
            f.setNamespaceAware(true);
            root = f.newDocumentBuilder().parse(new ByteArrayInputStream(xml)).getDocumentElement();
        } catch (Exception e) {
            throw malformed("The XML you provided was not well-formed or did not validate against our published schema");
        }
        if (!expectedRoot.equals(root.getLocalName())) {
            throw malformed("The root element must be " + expectedRoot);
        }
        return root;
    }

    static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }

    /** The text of the one child named {@code name}. */
    static String child(Element parent, String name) {
        List<Element> found = children(parent).stream().filter(e -> name.equals(e.getLocalName())).toList();
        if (found.size() != 1) {
            throw malformed("Each " + parent.getLocalName() + " must have one " + name);
        }
        return found.get(0).getTextContent();
    }

    static S3Exception malformed(String why) {
        return new S3Exception(400, "MalformedXML", why);
    }
}
