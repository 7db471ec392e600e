package io.celluler.catalog.query;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Kubernetes-style label selector: requirements joined by commas, all of which must hold —
 * {@code key=value} (or {@code ==}), {@code key!=value}, {@code key in (a,b)}, {@code key notin (a,b)}, {@code key}
 * (exists), {@code !key} (does not exist). As in Kubernetes, {@code !=} and {@code notin} also match entries without
 * the key.
 */
public final class LabelSelector {

    enum Op { EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, NOT_EXISTS }

    record Requirement(String key, Op op, Set<String> values) {

        boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (op) {
                case EQUALS, IN -> v != null && values.contains(v);
                case NOT_EQUALS, NOT_IN -> v == null || !values.contains(v);
                case EXISTS -> v != null;
                case NOT_EXISTS -> v == null;
            };
        }
    }

    /** At most this many requirements in one selector. */
    public static final int MAX_REQUIREMENTS = 32;

    public static final LabelSelector ALL = new LabelSelector(List.of());

    private final List<Requirement> requirements;

    private LabelSelector(List<Requirement> requirements) {
        this.requirements = requirements;
    }

    public boolean matches(Map<String, String> labels) {
        for (Requirement r : requirements) {
            if (!r.matches(labels)) {
                return false;
            }
        }
        return true;
    }

    public boolean isEmpty() {
        return requirements.isEmpty();
    }

    /**
     * Parses a selector.
     *
     * @throws IllegalArgumentException saying what is wrong and where
     */
    public static LabelSelector parse(String text) {
        if (text == null || text.isBlank()) {
            return ALL;
        }
        List<Requirement> out = new ArrayList<>();
        for (String part : splitTopLevel(text)) {
            String p = part.strip();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("an empty requirement (two commas, or one at an end)");
            }
            out.add(requirement(p));
            if (out.size() > MAX_REQUIREMENTS) {
                throw new IllegalArgumentException("at most " + MAX_REQUIREMENTS + " requirements");
            }
        }
        return new LabelSelector(List.copyOf(out));
    }

    private static List<String> splitTopLevel(String text) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '(') {
                if (++depth > 1) {
                    throw new IllegalArgumentException("nested parentheses at " + i);
                }
            } else if (c == ')') {
                if (--depth < 0) {
                    throw new IllegalArgumentException("')' without '(' at " + i);
                }
            } else if (c == ',' && depth == 0) {
                parts.add(text.substring(start, i));
                start = i + 1;
            }
        }
        if (depth != 0) {
            throw new IllegalArgumentException("'(' without ')'");
        }
        parts.add(text.substring(start));
        return parts;
    }

    private static Requirement requirement(String p) {
        if (p.startsWith("!")) {
            String key = p.substring(1).strip();
            return new Requirement(key(key, p), Op.NOT_EXISTS, Set.of());
        }
        int ne = p.indexOf("!=");
        if (ne > 0) {
            return new Requirement(key(p.substring(0, ne).strip(), p), Op.NOT_EQUALS,
                    Set.of(value(p.substring(ne + 2).strip(), p)));
        }
        int eq = p.indexOf('=');
        if (eq > 0) {
            String v = p.substring(p.startsWith("==", eq) ? eq + 2 : eq + 1).strip();
            return new Requirement(key(p.substring(0, eq).strip(), p), Op.EQUALS, Set.of(value(v, p)));
        }
        String[] words = p.split("\\s+", 2);
        if (words.length == 1) {
            return new Requirement(key(words[0], p), Op.EXISTS, Set.of());
        }
        String rest = words[1].strip();
        Op op;
        if (rest.startsWith("notin")) {
            op = Op.NOT_IN;
            rest = rest.substring(5).strip();
        } else if (rest.startsWith("in")) {
            op = Op.IN;
            rest = rest.substring(2).strip();
        } else {
            throw new IllegalArgumentException("'" + p + "': expected =, ==, !=, in or notin after the key");
        }
        if (!rest.startsWith("(") || !rest.endsWith(")")) {
            throw new IllegalArgumentException("'" + p + "': the values of in / notin go in parentheses");
        }
        Set<String> values = new TreeSet<>();
        if (rest.substring(1, rest.length() - 1).isBlank()) {
            throw new IllegalArgumentException("'" + p + "': in / notin needs at least one value");
        }
        for (String v : rest.substring(1, rest.length() - 1).split(",", -1)) {
            values.add(value(v.strip(), p));
        }
        return new Requirement(key(words[0], p), op, values);
    }

    private static String key(String key, String requirement) {
        String problem = LabelSyntax.keyProblem(key);
        if (problem != null) {
            throw new IllegalArgumentException("'" + requirement + "': " + problem);
        }
        return key;
    }

    private static String value(String value, String requirement) {
        String problem = LabelSyntax.valueProblem(value);
        if (problem != null) {
            throw new IllegalArgumentException("'" + requirement + "': " + problem);
        }
        return value;
    }
}
