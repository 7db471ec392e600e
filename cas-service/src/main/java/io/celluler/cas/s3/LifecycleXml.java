package io.celluler.cas.s3;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import io.celluler.cas.store.LifecycleRule;
import org.w3c.dom.Element;

/**
 * S3's {@code LifecycleConfiguration} document, read and written. Expiration actions are supported (current
 * versions by days or date, expired delete markers, noncurrent versions, incomplete multipart uploads); transitions
 * between storage classes are refused with NotImplemented (a cell has one storage class), and so are filters on
 * tags and object sizes. Anything else malformed is MalformedXML or InvalidArgument, as S3 answers.
 */
final class LifecycleXml {

    static final int MAX_RULES = 1000;
    static final int MAX_ID_CHARS = 255;
    static final int MAX_PREFIX_BYTES = 1024;
    /** Days in a rule at most (a century: a cutoff that far back is still a date every database keeps). */
    static final int MAX_DAYS = 36_500;

    private LifecycleXml() {
    }

    static List<LifecycleRule> parse(byte[] xml) {
        Element root = S3XmlBody.root(xml, "LifecycleConfiguration");
        List<LifecycleRule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (Element e : S3XmlBody.children(root)) {
            if (!"Rule".equals(e.getLocalName())) {
                throw S3XmlBody.malformed("Unexpected element " + e.getLocalName() + " in LifecycleConfiguration");
            }
            LifecycleRule r = rule(e);
            if (!ids.add(r.id())) {
                throw S3Exception.invalidArgument("Rule ID must be unique. Found same ID for more than one rule: " + r.id());
            }
            rules.add(r);
        }
        if (rules.isEmpty() || rules.size() > MAX_RULES) {
            throw S3XmlBody.malformed("A LifecycleConfiguration has 1 to " + MAX_RULES + " rules");
        }
        return rules;
    }

    private static LifecycleRule rule(Element rule) {
        String id = null;
        String prefix = null;
        Boolean enabled = null;
        Integer days = null;
        Instant date = null;
        boolean markers = false;
        Integer noncurrentDays = null;
        Integer newerNoncurrent = null;
        Integer abortDays = null;
        for (Element e : S3XmlBody.children(rule)) {
            switch (e.getLocalName()) {
                case "ID" -> id = e.getTextContent().trim();
                case "Prefix" -> prefix = once(prefix, e.getTextContent(), "Prefix");
                case "Filter" -> prefix = once(prefix, filterPrefix(e), "Prefix");
                case "Status" -> {
                    String s = e.getTextContent().trim();
                    if (!s.equals("Enabled") && !s.equals("Disabled")) {
                        throw S3XmlBody.malformed("Status must be Enabled or Disabled, not " + s);
                    }
                    enabled = s.equals("Enabled");
                }
                case "Expiration" -> {
                    for (Element x : S3XmlBody.children(e)) {
                        switch (x.getLocalName()) {
                            case "Days" -> days = positive(x, "Expiration Days");
                            case "Date" -> date = midnight(x.getTextContent().trim());
                            case "ExpiredObjectDeleteMarker" -> markers = Boolean.parseBoolean(x.getTextContent().trim());
                            default -> throw S3XmlBody.malformed("Unexpected element " + x.getLocalName() + " in Expiration");
                        }
                    }
                    // (ExpiredObjectDeleteMarker false alone is allowed: it asks for nothing)
                    if ((days != null ? 1 : 0) + (date != null ? 1 : 0) + (markers ? 1 : 0) > 1) {
                        throw S3XmlBody.malformed("Expiration has one of Days, Date or ExpiredObjectDeleteMarker");
                    }
                }
                case "NoncurrentVersionExpiration" -> {
                    for (Element x : S3XmlBody.children(e)) {
                        switch (x.getLocalName()) {
                            case "NoncurrentDays" -> noncurrentDays = positive(x, "NoncurrentDays");
                            case "NewerNoncurrentVersions" -> newerNoncurrent = positive(x, "NewerNoncurrentVersions");
                            default -> throw S3XmlBody.malformed("Unexpected element " + x.getLocalName()
                                    + " in NoncurrentVersionExpiration");
                        }
                    }
                    if (noncurrentDays == null) {
                        throw S3XmlBody.malformed("NoncurrentVersionExpiration needs NoncurrentDays");
                    }
                }
                case "AbortIncompleteMultipartUpload" -> abortDays = positive(childElement(e, "DaysAfterInitiation"),
                        "DaysAfterInitiation");
                case "Transition", "NoncurrentVersionTransition" -> throw new S3Exception(501, "NotImplemented",
                        e.getLocalName() + " is not implemented: a cell has one storage class (expiration actions are)");
                default -> throw S3XmlBody.malformed("Unexpected element " + e.getLocalName() + " in Rule");
            }
        }
        if (enabled == null) {
            throw S3XmlBody.malformed("Each Rule needs a Status");
        }
        if (days == null && date == null && !markers && noncurrentDays == null && abortDays == null) {
            throw S3XmlBody.malformed("A Rule needs at least one action (Expiration, NoncurrentVersionExpiration or"
                    + " AbortIncompleteMultipartUpload)");
        }
        if (id == null || id.isEmpty()) {
            id = UUID.randomUUID().toString();
        }
        if (id.length() > MAX_ID_CHARS) {
            throw S3Exception.invalidArgument("ID length should not exceed allowed limit of " + MAX_ID_CHARS);
        }
        if (prefix != null && prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_PREFIX_BYTES) {
            throw S3Exception.invalidArgument("The lifecycle Prefix is longer than a key (" + MAX_PREFIX_BYTES + " bytes)");
        }
        return new LifecycleRule(id, prefix == null ? "" : prefix, enabled, days, date, markers, noncurrentDays, newerNoncurrent,
                abortDays);
    }

    private static Element childElement(Element parent, String name) {
        return S3XmlBody.children(parent).stream().filter(x -> name.equals(x.getLocalName())).findFirst()
                .orElseThrow(() -> S3XmlBody.malformed(parent.getLocalName() + " needs " + name));
    }

    /** The prefix of a {@code Filter}: empty, or one {@code Prefix}; tags and sizes are not supported. */
    private static String filterPrefix(Element filter) {
        String prefix = "";
        for (Element x : S3XmlBody.children(filter)) {
            switch (x.getLocalName()) {
                case "Prefix" -> prefix = x.getTextContent();
                case "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan" -> throw new S3Exception(501, "NotImplemented",
                        "a lifecycle Filter on " + x.getLocalName() + " is not implemented (Prefix is)");
                default -> throw S3XmlBody.malformed("Unexpected element " + x.getLocalName() + " in Filter");
            }
        }
        return prefix;
    }

    private static String once(String earlier, String value, String what) {
        if (earlier != null) {
            throw S3XmlBody.malformed("A Rule has one " + what + " (in Filter or directly, not both)");
        }
        return value;
    }

    private static int positive(Element e, String what) {
        try {
            int n = Integer.parseInt(e.getTextContent().trim());
            if (n > 0 && n <= MAX_DAYS) {
                return n;
            }
        } catch (NumberFormatException notANumber) {
            // answered below
        }
        throw S3Exception.invalidArgument("'" + what + "' for lifecycle must be a whole number from 1 to " + MAX_DAYS);
    }

    private static Instant midnight(String text) {
        Instant t;
        try {
            t = text.length() == 10 ? Instant.parse(text + "T00:00:00Z") : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw S3Exception.invalidArgument("'Date' must be in ISO 8601 format");
        }
        if (t.isBefore(Instant.parse("1970-01-01T00:00:00Z")) || t.isAfter(Instant.parse("9999-12-31T00:00:00Z"))) {
            throw S3Exception.invalidArgument("'Date' must be between 1970 and 9999");
        }
        if (!t.equals(t.truncatedTo(ChronoUnit.DAYS))) {
            throw S3Exception.invalidArgument("'Date' must be at midnight GMT");
        }
        return t;
    }

    static String write(List<LifecycleRule> rules) {
        S3Xml x = new S3Xml().openRoot("LifecycleConfiguration");
        for (LifecycleRule r : rules) {
            x.open("Rule").text("ID", r.id()).open("Filter").text("Prefix", r.prefix()).close("Filter")
                    .text("Status", r.enabled() ? "Enabled" : "Disabled");
            if (r.expirationDays() != null || r.expirationDate() != null || r.expiredObjectDeleteMarker()) {
                x.open("Expiration");
                if (r.expirationDays() != null) {
                    x.text("Days", r.expirationDays());
                } else if (r.expirationDate() != null) {
                    x.time("Date", r.expirationDate());
                } else {
                    x.text("ExpiredObjectDeleteMarker", "true");
                }
                x.close("Expiration");
            }
            if (r.noncurrentDays() != null) {
                x.open("NoncurrentVersionExpiration").text("NoncurrentDays", r.noncurrentDays());
                if (r.newerNoncurrentVersions() != null) {
                    x.text("NewerNoncurrentVersions", r.newerNoncurrentVersions());
                }
                x.close("NoncurrentVersionExpiration");
            }
            if (r.abortMultipartDays() != null) {
                x.open("AbortIncompleteMultipartUpload").text("DaysAfterInitiation", r.abortMultipartDays())
                        .close("AbortIncompleteMultipartUpload");
            }
            x.close("Rule");
        }
        return x.close("LifecycleConfiguration").build();
    }
}
