package io.celluler.cas.s3;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/** Builds the S3 API's XML answers (namespace {@value #NS}), escaping text as XML 1.0 requires. */
final class S3Xml {

    static final String NS = "http://s3.amazonaws.com/doc/2006-03-01/";
    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final StringBuilder b = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");

    S3Xml open(String element) {
        b.append('<').append(element).append('>');
        return this;
    }

    S3Xml openRoot(String element) {
        b.append('<').append(element).append(" xmlns=\"").append(NS).append("\">");
        return this;
    }

    S3Xml close(String element) {
        b.append("</").append(element).append('>');
        return this;
    }

    S3Xml text(String element, String value) {
        b.append('<').append(element).append('>');
        escape(value);
        b.append("</").append(element).append('>');
        return this;
    }

    S3Xml text(String element, long value) {
        return text(element, Long.toString(value));
    }

    S3Xml time(String element, Instant t) {
        return text(element, ISO.format(t.truncatedTo(ChronoUnit.MILLIS)));
    }

    String build() {
        return b.toString();
    }

    private void escape(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> {
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                        b.append("&#x").append(Integer.toHexString(c)).append(';');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
    }
}
