package io.celluler.cas.s3;

import java.util.ArrayList;
import java.util.List;

import org.w3c.dom.Element;

/** The body of CompleteMultipartUpload: {@code <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...}. */
record CompleteRequest(List<Listed> parts) {

    /** A part as the client lists it (the ETag without its quotes). */
    record Listed(int partNumber, String etag) {
    }

    static CompleteRequest parse(byte[] xml) {
        Element root = S3XmlBody.root(xml, "CompleteMultipartUpload");
        List<Listed> parts = new ArrayList<>();
        for (Element e : S3XmlBody.children(root)) {
            if (!"Part".equals(e.getLocalName())) {
                throw S3XmlBody.malformed("Unexpected element " + e.getLocalName());
            }
            int number;
            try {
                number = Integer.parseInt(S3XmlBody.child(e, "PartNumber").trim());
            } catch (NumberFormatException bad) {
                throw S3XmlBody.malformed("A PartNumber must be a number");
            }
            parts.add(new Listed(number, S3XmlBody.child(e, "ETag").trim().replace("\"", "")));
        }
        if (parts.isEmpty()) {
            throw S3XmlBody.malformed("The XML you provided was not well-formed or did not validate against our published schema: no parts");
        }
        return new CompleteRequest(parts);
    }
}
