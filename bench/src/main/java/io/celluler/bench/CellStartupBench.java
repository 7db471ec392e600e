package io.celluler.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Cold start of a whole cell as a user sees it: {@code java -jar cli/target/celluler-cli-exec.jar up} in a new
 * process with a new data dir, timed from process start until it reports all nine services (the
 * "Press Ctrl-C" line, printed after every service answered its health check); then the process's resident
 * memory (VmRSS) and the time a SIGTERM takes to stop it.
 */
@Command(name = "cell-startup", mixinStandardHelpOptions = true,
        description = "Cold start time, RSS and stop time of `celluler up`.")
public class CellStartupBench implements Callable<Integer> {

    @Option(names = "--runs", defaultValue = "3")
    int runs;

    @Option(names = "--jar", defaultValue = "cli/target/celluler-cli-exec.jar")
    Path jar;

    @Option(names = "--java-opts", defaultValue = "-Xmx1g -Xss512k", description = "the JVM options ./celluler uses")
    String javaOpts;

    @Option(names = "--cell", defaultValue = "31")
    int cellIndex;

    @Override
    public Integer call() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        double[] starts = new double[runs];
        long[] rss = new long[runs];
        double[] stops = new double[runs];
        for (int r = 0; r < runs; r++) {
            Path dir = Files.createTempDirectory("celluler-startup");
            List<String> cmd = new ArrayList<>(List.of(java));
            cmd.addAll(Arrays.asList(javaOpts.trim().split("\\s+")));
            cmd.addAll(List.of("-XX:+EnableDynamicAgentLoading", "--enable-native-access=ALL-UNNAMED", "-jar",
                    jar.toString(), "up", "--data-dir", dir.toString(), "--cell", String.valueOf(cellIndex)));
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            boolean up = false;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.contains("Press Ctrl-C")) {
                        up = true;
                        break;
                    }
                    if (line.contains(" DOWN") || line.contains("did not start")) {
                        System.out.println(line);
                    }
                }
                if (!up) {
                    throw new IllegalStateException("the cell did not come up (exit " + p.waitFor() + ")");
                }
                starts[r] = (System.nanoTime() - t0) / 1e9;
                rss[r] = rssKiB(p.pid());
                long s0 = System.nanoTime();
                p.destroy(); // SIGTERM: the shutdown hook closes every service
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the cell did not stop within 60 s");
                }
                stops[r] = (System.nanoTime() - s0) / 1e9;
            }
            System.out.printf("run %d: up in %.1f s, RSS %.0f MiB, stopped in %.1f s%n", r + 1, starts[r],
                    rss[r] / 1024.0, stops[r]);
        }
        Arrays.sort(starts);
        Arrays.sort(rss);
        Arrays.sort(stops);
        System.out.printf("BENCH cell-startup runs=%d java-opts=\"%s\" up-median=%.1fs up-max=%.1fs rss-median=%.0fMiB "
                + "rss-max=%.0fMiB stop-median=%.1fs%n", runs, javaOpts, starts[runs / 2], starts[runs - 1],
                rss[runs / 2] / 1024.0, rss[runs - 1] / 1024.0, stops[runs / 2]);
        return 0;
    }

    private static long rssKiB(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid + " (Linux /proc needed)");
    }
}
