package io.celluler.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the benchmarks: {@code bench/run.sh <benchmark> [options]}. Each prints one summary line per figure. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        subcommands = {GatewayBench.class, CellStartupBench.class, MembershipBench.class, P2pBench.class, ConsensusBench.class, TxIndexBench.class, CasBench.class, CasReplicationBench.class, CasErasureBench.class, DataFeedBench.class, DataReplicationBench.class, CatalogEngineBench.class, CatalogCellsBench.class, StateEngineBench.class, StateApplyBench.class, CommandLine.HelpCommand.class})
public class Bench implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
