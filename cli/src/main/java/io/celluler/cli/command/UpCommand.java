package io.celluler.cli.command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import io.celluler.cli.cell.Cell;
import io.celluler.cli.cell.CellService;
import io.celluler.cli.cell.LocalNetwork;
import io.celluler.core.identity.CellIdentity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code celluler up}: a whole cell in this JVM, or a local network of cells (one process each), until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start a whole cell (all nine services) in this process, on embedded defaults "
                + "(H2 files, no Redis, no external servers); with --cells N, a local network of N cells, each "
                + "in its own process, cell 0 the seed of the others. Ctrl-C stops everything cleanly.")
public class UpCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = "./.celluler", description = "Where the cell keeps its state; with --cells, cell k uses <data-dir>/cell-k (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--cell", defaultValue = "0", description = "Cell index k: every port is the default + 10 × k; with --cells, the first cell's index (default: ${DEFAULT-VALUE}).")
    int cellIndex;

    @Option(names = "--cells", defaultValue = "1", description = "How many cells: more than one starts a local network, one process per cell (default: ${DEFAULT-VALUE}).")
    int cells;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--seeds", split = ",", description = "P2P addresses (host:port) of cells to join through.")
    List<String> seeds = new ArrayList<>();

    @Option(names = "--services", split = ",", description = "Run only these services (e.g. network-service); default: all nine.")
    List<String> services = new ArrayList<>();

    @Option(names = "--set", description = "A setting for every service of every cell, key=value (e.g. celluler.network.links.max-links=64). Repeatable.")
    List<String> settings = new ArrayList<>();

    @Option(names = "--cell-set", description = "A setting for one cell of a network, k:key=value (k counts from 0). Repeatable.")
    List<String> cellSettings = new ArrayList<>();

    @Option(names = "--exit-with", hidden = true, description = "Exit when the process with this pid does (a cell of a local network follows its parent).")
    Long exitWith;

    @Option(names = "--log-console", description = "Print the services' JSON logs here instead of <data-dir>/logs/cell.log.")
    boolean logConsole;

    @Override
    public Integer call() throws Exception {
        if (cells < 1 || cellIndex < 0 || cellIndex + cells - 1 > 50) {
            System.err.println("--cell and --cells: cell indexes must stay between 0 and 50 (ports are the defaults + 10 × k)");
            return 2;
        }
        for (String s : services) {
            if (CellService.ALL.stream().noneMatch(c -> c.name().equals(s))) {
                System.err.println("--services: unknown service '" + s + "'");
                return 2;
            }
        }
        for (String s : settings) {
            if (!s.contains("=")) {
                System.err.println("--set: expected key=value, got '" + s + "'");
                return 2;
            }
        }
        if (cells > 1) {
            return LocalNetwork.run(dataDir.toAbsolutePath().normalize(), cellIndex, cells, bind, seeds, services,
                    settings, cellSettings);
        }
        if (!cellSettings.isEmpty()) {
            System.err.println("--cell-set is for a network (--cells N > 1); use --set for one cell");
            return 2;
        }
        return runOneCell();
    }

    private int runOneCell() throws Exception {
        if (exitWith != null) {
            ProcessHandle.of(exitWith).ifPresentOrElse(parent -> parent.onExit().thenRun(() -> System.exit(0)),
                    () -> System.exit(0));
        }
        Path dir = dataDir.toAbsolutePath().normalize();
        Files.createDirectories(dir.resolve("logs"));
        List<String> extra = new ArrayList<>();
        if (!logConsole) {
            extra.add("--logging.file.name=" + dir.resolve("logs/cell.log"));
            extra.add("--logging.threshold.console=OFF");
        }
        if (!seeds.isEmpty()) {
            extra.add("--celluler.network.seeds=" + String.join(",", seeds));
        }
        settings.forEach(s -> extra.add("--" + s));
        System.out.printf("Starting a cell (index %d) with data in %s ...%n", cellIndex, dir);
        // Ctrl-C at any time, start-up included, stops what runs
        List<Cell.Running> running = new CopyOnWriteArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nStopping the cell ...");
            Cell.closeAll(running);
            System.out.println("Stopped.");
            stopped.countDown();
        }, "cell-shutdown"));
        Cell cell;
        Cell.Options options = new Cell.Options(dir, cellIndex, bind, extra, 3).withServices(services);
        try {
            cell = Cell.start(options, running::add);
        } catch (IllegalStateException e) {
            System.err.println(e.getMessage());
            System.err.println("Logs: " + dir.resolve("logs/cell.log"));
            return 1;
        }

        Map<String, String> health = cell.health();
        System.out.printf("%nCell up in %.1f s.%n%n", cell.startTime().toMillis() / 1000.0);
        System.out.printf("  %-18s %-6s %-6s %s%n", "SERVICE", "GRPC", "HTTP", "HEALTH");
        for (CellService s : options.selected()) {
            System.out.printf("  %-18s %-6s %-6d %s%n", s.name(),
                    s.isGateway() ? s.httpPort(cellIndex) : String.valueOf(s.grpcPort(cellIndex)),
                    s.httpPort(cellIndex), health.get(s.name()));
        }
        System.out.println();
        if (options.selected().stream().anyMatch(CellService::isGateway)) {
            System.out.printf("Gateway:  %s  (gRPC h2c and REST; OpenAPI at %s/v3/api-docs)%n", cell.gatewayUrl(), cell.gatewayUrl());
        }
        CellIdentity identity = cell.bean("network-service", CellIdentity.class);
        if (identity != null) {
            System.out.printf("Cell id:  %s%n", identity.cellId());
            System.out.printf("P2P:      %s:%d%n", bind, Cell.P2P_PORT + CellService.offset(cellIndex));
        }
        if (!logConsole) {
            System.out.println("Logs:     " + dir.resolve("logs/cell.log"));
        }
        System.out.println("Press Ctrl-C to stop.");
        stopped.await();
        return 0;
    }
}
