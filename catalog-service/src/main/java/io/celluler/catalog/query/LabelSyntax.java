package io.celluler.catalog.query;

import java.util.regex.Pattern;

/**
 * Kubernetes label syntax: a key is an optional DNS-subdomain prefix (at most 253 characters) and {@code /}, then
 * a name of 1–63 characters; a value is empty or 1–63 characters. Names and values begin and end with a letter or
 * digit and hold letters, digits, {@code -}, {@code _} and {@code .} between.
 */
public final class LabelSyntax {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?");
    private static final Pattern PREFIX = Pattern.compile(
            "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

    private LabelSyntax() {
    }

    /** Null when {@code key} is a valid label key, else why not. */
    public static String keyProblem(String key) {
        if (key == null || key.isEmpty()) {
            return "a label key is not empty";
        }
        int slash = key.indexOf('/');
        String name = key;
        if (slash >= 0) {
            String prefix = key.substring(0, slash);
            name = key.substring(slash + 1);
            if (prefix.isEmpty() || prefix.length() > 253 || !PREFIX.matcher(prefix).matches()) {
                return "label key '" + key + "': the prefix before '/' must be a DNS subdomain (lowercase, at most 253)";
            }
        }
        if (!NAME.matcher(name).matches()) {
            return "label key '" + key + "': the name must be 1-63 letters, digits, '-', '_', '.', beginning and ending"
                    + " with a letter or digit";
        }
        return null;
    }

    /** Null when {@code value} is a valid label value, else why not. */
    public static String valueProblem(String value) {
        if (value == null) {
            return "a label value is not null";
        }
        if (!value.isEmpty() && !NAME.matcher(value).matches()) {
            return "label value '" + value + "': empty, or 1-63 letters, digits, '-', '_', '.', beginning and ending"
                    + " with a letter or digit";
        }
        return null;
    }
}
