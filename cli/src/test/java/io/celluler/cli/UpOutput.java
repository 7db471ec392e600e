package io.celluler.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The console of a {@code celluler up --cells N} process, for tests that start one. */
final class UpOutput {

    private UpOutput() {
    }

    /**
     * What the process printed until the network was up (its "Press Ctrl-C" line) or until it ended; the rest of
     * its output is drained in the background so the process never blocks on a full pipe.
     */
    static String untilUp(Process process) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null) {
            lines.add(line);
            if (line.contains("Press Ctrl-C")) {
                break;
            }
        }
        Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
        return String.join("\n", lines);
    }
}
