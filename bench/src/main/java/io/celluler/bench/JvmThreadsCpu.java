package io.celluler.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time of this JVM's own threads (compilers, garbage collectors) by name, from Linux's /proc/self/task: the
 * JVM hides them from {@code ThreadMXBean}. Names are cut to 15 characters by the kernel.
 */
final class JvmThreadsCpu {

    /** Linux's USER_HZ: /proc counts CPU time in these ticks (100 on every common platform). */
    private static final long TICKS_PER_SECOND = 100;

    private JvmThreadsCpu() {
    }

    /** Milliseconds of CPU (user + system) used so far by the threads whose name starts with a prefix; -1 without /proc. */
    static long millis(String... namePrefixes) {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return -1;
        }
        long ticks = 0;
        try (Stream<Path> all = Files.list(tasks)) {
            for (Path task : (Iterable<Path>) all::iterator) {
                ticks += ticksOf(task, namePrefixes);
            }
        } catch (IOException e) {
            return -1;
        }
        return ticks * 1000 / TICKS_PER_SECOND;
    }

    private static long ticksOf(Path task, String[] namePrefixes) {
        try {
            String stat = Files.readString(task.resolve("stat"));
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            String name = stat.substring(open + 1, close);
            boolean wanted = false;
            for (String prefix : namePrefixes) {
                wanted |= name.startsWith(prefix);
            }
            if (!wanted) {
                return 0;
            }
            // after the name: state, ppid, ... ; utime and stime are the 14th and 15th fields of the whole line
            String[] f = stat.substring(close + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException threadGone) {
            return 0;
        }
    }
}
