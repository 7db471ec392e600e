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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code celluler up}: a whole cell in this JVM until Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start a whole cell (all nine services) in this process, on embedded defaults "
                + "(H2 files, no Redis, no external servers). Ctrl-C stops it cleanly.")
public class UpCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = "./.celluler", description = "Where the cell keeps its state (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--cell", defaultValue = "0", description = "Cell index k: every port is the default + 1000 × k (default: ${DEFAULT-VALUE}).")
    int cellIndex;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--log-console", description = "Print the services' JSON logs here instead of <data-dir>/logs/cell.log.")
    boolean logConsole;

    @Override
    public Integer call() throws Exception {
        if (cellIndex < 0 || cellIndex > 50) {
            System.err.println("--cell must be between 0 and 50 (ports are the defaults + 1000 × k)");
            return 2;
        }
        Path dir = dataDir.toAbsolutePath().normalize();
        Files.createDirectories(dir.resolve("logs"));
        List<String> extra = new ArrayList<>();
        if (!logConsole) {
            extra.add("--logging.file.name=" + dir.resolve("logs/cell.log"));
            extra.add("--logging.threshold.console=OFF");
        }
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
        try {
            cell = Cell.start(new Cell.Options(dir, cellIndex, bind, extra, 3), running::add);
        } catch (IllegalStateException e) {
            System.err.println(e.getMessage());
            System.err.println("Logs: " + dir.resolve("logs/cell.log"));
            return 1;
        }

        Map<String, String> health = cell.health();
        System.out.printf("%nCell up in %.1f s.%n%n", cell.startTime().toMillis() / 1000.0);
        System.out.printf("  %-18s %-6s %-6s %s%n", "SERVICE", "GRPC", "HTTP", "HEALTH");
        for (CellService s : CellService.ALL) {
            System.out.printf("  %-18s %-6s %-6d %s%n", s.name(),
                    s.isGateway() ? s.httpPort(cellIndex) : String.valueOf(s.grpcPort(cellIndex)),
                    s.httpPort(cellIndex), health.get(s.name()));
        }
        System.out.printf("%nGateway:  %s  (gRPC h2c and REST; OpenAPI at %s/v3/api-docs)%n", cell.gatewayUrl(), cell.gatewayUrl());
        if (!logConsole) {
            System.out.println("Logs:     " + dir.resolve("logs/cell.log"));
        }
        System.out.println("Press Ctrl-C to stop.");
        stopped.await();
        return 0;
    }
}
