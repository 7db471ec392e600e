package io.celluler.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code celluler up} as a user runs it: the packaged command in its own process prints every service UP and
 * the gateway URL, keeps its state under {@code --data-dir}, and a SIGTERM (what Ctrl-C's shutdown path runs)
 * stops every service and the process within a minute.
 */
class CellulerUpIT {

    @TempDir
    Path dataDir;

    @Test
    void upPrintsTheCellAndStopsCleanlyOnSigterm() throws Exception {
        Path jar = Path.of("target/celluler-cli-exec.jar");
        assertThat(jar).as("the packaged command (mvn package builds it before the integration tests)").exists();
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-jar", jar.toString(), "up", "--data-dir", dataDir.toString(), "--cell", "21");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                lines.add(line);
                if (line.contains("Press Ctrl-C")) {
                    break;
                }
            }
            assertThat(String.join("\n", lines)).contains("Press Ctrl-C");
            p.toHandle().destroy(); // SIGTERM (keeping our end of its output open): the shutdown hook stops every service
            while ((line = out.readLine()) != null) {
                lines.add(line);
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stopped within 60 s").isTrue();
        } finally {
            p.destroyForcibly();
        }

        String output = String.join("\n", lines);
        for (String service : List.of("network-service", "consensus-service", "data-service", "state-service",
                "catalog-service", "cas-service", "model-service", "metrics-service", "gateway-service")) {
            assertThat(output).containsPattern(service + "\\s+\\d+\\s+\\d+\\s+UP");
        }
        assertThat(output).contains("Gateway:  http://127.0.0.1:8290").contains("Stopped.");
        assertThat(Files.isDirectory(dataDir.resolve("cas-service/store"))).isTrue();
        assertThat(Files.size(dataDir.resolve("logs/cell.log"))).isPositive();
    }
}
