package io.celluler.cli.cell;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code celluler up --cells N}: a local network of N cells on one machine, each cell a process of its own (so
 * that killing one is what a crash is), cell k on the DESIGN §4 ports + 10 × k ({@link CellService#offset}) with its state in
 * {@code <data-dir>/cell-k}. Cell 0 starts first and is the seed of the others (cell 1 a second seed, so a cell
 * told not to link with cell 0 still joins). Prints each cell's gateway, P2P address and id; Ctrl-C stops all.
 * A cell process exits by itself if this process dies.
 */
public final class LocalNetwork {

    private record Child(int k, int index, Process process, Path output) {
    }

    private LocalNetwork() {
    }

    public static int run(Path dir, int first, int n, String bind, List<String> seeds, List<String> services,
            List<String> settings, List<String> cellSettings) throws Exception {
        Map<Integer, List<String>> perCell = new HashMap<>();
        for (String s : cellSettings) {
            int colon = s.indexOf(':');
            int k;
            try {
                k = colon < 0 ? -1 : Integer.parseInt(s.substring(0, colon));
            } catch (NumberFormatException e) {
                k = -1;
            }
            if (k < 0 || k >= n || !s.substring(colon + 1).contains("=")) {
                System.err.println("--cell-set: expected k:key=value with 0 <= k < " + n + ", got '" + s + "'");
                return 2;
            }
            perCell.computeIfAbsent(k, x -> new ArrayList<>()).add(s.substring(colon + 1));
        }
        Files.createDirectories(dir);
        List<String> common = new ArrayList<>(settings);
        if (services.isEmpty() || services.contains("consensus-service")) {
            Path genesis = genesis(dir, n);
            common.add("celluler.consensus.genesis-file=" + genesis.toAbsolutePath());
        }
        System.out.printf("Starting a network of %d cells (indexes %d-%d) with data in %s ...%n", n, first, first + n - 1, dir);
        long t0 = System.nanoTime();
        List<Child> children = new ArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            System.out.println("\nStopping the network ...");
            stopAll(children);
            System.out.println("Stopped.");
            stopped.countDown();
        }, "network-shutdown"));

        String seed0 = bind + ":" + (Cell.P2P_PORT + CellService.offset(first));
        String seed1 = bind + ":" + (Cell.P2P_PORT + CellService.offset(first + 1));
        Map<Integer, Map<String, String>> ready = new HashMap<>();
        for (int k = 0; k < n; k++) {
            List<String> cellSeeds = new ArrayList<>(seeds);
            if (k > 0) {
                cellSeeds.add(seed0);
            }
            if (k > 1) {
                cellSeeds.add(seed1);
            }
            List<String> sets = new ArrayList<>(common);
            sets.addAll(perCell.getOrDefault(k, List.of()));
            Child child = launch(dir, k, first + k, bind, cellSeeds, services, sets);
            synchronized (children) {
                children.add(child);
            }
            if (k == 0) {
                // the seed first: the others join through it
                Map<String, String> info = awaitReady(child);
                if (info == null) {
                    return 1;
                }
                ready.put(k, info);
            }
        }
        for (Child c : children.subList(1, children.size())) {
            Map<String, String> info = awaitReady(c);
            if (info == null) {
                return 1;
            }
            ready.put(c.k(), info);
        }
        System.out.printf("%nNetwork of %d cells up in %.1f s.%n%n", n, (System.nanoTime() - t0) / 1e9);
        System.out.printf("  %-4s %-8s %-26s %-18s %s%n", "CELL", "PID", "GATEWAY", "P2P", "CELL ID");
        for (Child c : children) {
            Map<String, String> info = ready.get(c.k());
            System.out.printf("  %-4d %-8d %-26s %-18s %s%n", c.k(), c.process().pid(), info.getOrDefault("Gateway", "-"),
                    info.getOrDefault("P2P", "-"), info.getOrDefault("Cell id", "-"));
        }
        System.out.printf("%nEach cell's output: %s/cell-<k>/up.log; its services' logs: %s/cell-<k>/logs/cell.log%n", dir, dir);
        System.out.println("Press Ctrl-C to stop.");
        for (Child c : children) {
            c.process().onExit().thenAccept(p -> {
                if (!stopping.get()) {
                    System.out.printf("cell %d (pid %d) exited with code %d%n", c.k(), p.pid(), p.exitValue());
                }
            });
        }
        stopped.await();
        return 0;
    }

    /**
     * The network's genesis, {@code <dir>/genesis.json}: every cell a validator with stake 100. Each cell's keys are
     * made here before it starts (its network identity, which names it, and its validator key, which signs its
     * votes), where its services will find them. An existing genesis of the same cells and keys is kept, so a
     * network restarted over its data dir goes on with its chain.
     */
    public static Path genesis(Path dir, int n) throws IOException {
        Map<String, byte[]> keys = new java.util.LinkedHashMap<>();
        java.security.SecureRandom random = new java.security.SecureRandom();
        for (int k = 0; k < n; k++) {
            Path cellDir = dir.resolve("cell-" + k);
            var network = io.celluler.core.identity.CellIdentityStore.loadOrCreate(
                    cellDir.resolve("network-service").resolve("identity"), random);
            var validator = io.celluler.core.identity.CellIdentityStore.loadOrCreate(
                    cellDir.resolve("consensus-service").resolve("validator-key"), random);
            keys.put(network.cellId(), validator.publicKey());
        }
        Path file = dir.resolve("genesis.json");
        if (Files.exists(file)) {
            io.celluler.consensus.chain.Genesis existing = io.celluler.consensus.chain.Genesis.read(file);
            Map<String, String> have = new java.util.HashMap<>();
            existing.validators().forEach(v -> have.put(v.cellId(), v.publicKey()));
            Map<String, String> want = new java.util.HashMap<>();
            keys.forEach((id, key) -> want.put(id, java.util.HexFormat.of().formatHex(key)));
            if (have.equals(want)) {
                return file;
            }
        }
        io.celluler.consensus.chain.Genesis.equalStakes("celluler-local", java.time.Instant.now(), keys).write(file);
        return file;
    }

    private static Child launch(Path dir, int k, int index, String bind, List<String> seeds, List<String> services,
            List<String> settings) throws IOException {
        Path cellDir = dir.resolve("cell-" + k);
        Files.createDirectories(cellDir);
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent") && !arg.startsWith("-Dsun.java.command")) {
                cmd.add(arg);
            }
        }
        String classPath = System.getProperty("java.class.path");
        if (!classPath.contains(File.pathSeparator) && classPath.endsWith(".jar")) {
            cmd.addAll(List.of("-jar", classPath));
        } else {
            cmd.addAll(List.of("-cp", classPath, "io.celluler.cli.CellulerCli"));
        }
        cmd.addAll(List.of("up", "--cell", String.valueOf(index), "--data-dir", cellDir.toString(), "--bind", bind,
                "--exit-with", String.valueOf(ProcessHandle.current().pid())));
        if (!seeds.isEmpty()) {
            cmd.addAll(List.of("--seeds", String.join(",", seeds)));
        }
        if (!services.isEmpty()) {
            cmd.addAll(List.of("--services", String.join(",", services)));
        }
        settings.forEach(s -> cmd.addAll(List.of("--set", s)));
        Path output = cellDir.resolve("up.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        return new Child(k, index, p, output);
    }

    /** Waits for a cell to print that it is up; returns its "Name: value" lines, or null if it failed. */
    private static Map<String, String> awaitReady(Child c) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < deadline) {
            String out = Files.exists(c.output()) ? Files.readString(c.output(), StandardCharsets.UTF_8) : "";
            if (out.contains("Press Ctrl-C")) {
                Map<String, String> info = new HashMap<>();
                for (String line : out.split("\n")) {
                    int colon = line.indexOf(':');
                    if (colon > 0 && !line.startsWith(" ")) {
                        info.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim().split("\\s+")[0]);
                    }
                }
                return info;
            }
            if (!c.process().isAlive()) {
                System.err.printf("cell %d did not start (exit code %d):%n%s%n", c.k(), c.process().exitValue(), out);
                return null;
            }
            Thread.sleep(200);
        }
        System.err.printf("cell %d did not start within 5 minutes; see %s%n", c.k(), c.output());
        return null;
    }

    private static void stopAll(List<Child> children) {
        List<Child> all;
        synchronized (children) {
            all = List.copyOf(children);
        }
        all.forEach(c -> c.process().destroy());
        for (Child c : all) {
            try {
                if (!c.process().waitFor(60, TimeUnit.SECONDS)) {
                    c.process().destroyForcibly();
                }
            } catch (InterruptedException e) {
                c.process().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
