package io.celluler.cli.command;

import java.util.Map;
import java.util.concurrent.Callable;

import io.celluler.cli.cell.Cell;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code celluler status}: the health of each service of a running cell. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the health of each service of a running cell. Exit code 0 when all are UP.")
public class StatusCommand implements Callable<Integer> {

    @Option(names = "--cell", defaultValue = "0", description = "Cell index k (ports + 10 × k).")
    int cellIndex;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Host of the cell.")
    String host;

    @Override
    public Integer call() {
        Map<String, String> health = Cell.health(host, cellIndex);
        health.forEach((name, status) -> System.out.printf("  %-18s %s%n", name, status));
        return health.values().stream().allMatch("UP"::equals) ? 0 : 1;
    }
}
