package io.celluler.cli;

import io.celluler.cli.command.StatusCommand;
import io.celluler.cli.command.UpCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code celluler} command. */
@Command(name = "celluler", mixinStandardHelpOptions = true, version = "celluler 0.1.0",
        description = "Run and use Celluler cells.",
        subcommands = {UpCommand.class, StatusCommand.class, CommandLine.HelpCommand.class})
public class CellulerCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new CellulerCli()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
