package io.celluler.cas.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.celluler.cas.CasServiceApplication;
import io.celluler.core.boot.CellulerApplication;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The S3 API with a real command-line client: s3cmd (Debian's package; scripts/test.sh installs it when missing)
 * makes a bucket, puts files (signed payloads), lists, gets them back (s3cmd checks each download's MD5 against
 * the ETag), syncs a folder, removes, and meets a wrong secret.
 */
class S3CliIT {

    @TempDir
    Path dir;

    private ConfigurableApplicationContext context;
    private Path config;

    @BeforeEach
    void start() throws Exception {
        String s3cmd = s3cmd();
        assertThat(Path.of(s3cmd)).as("s3cmd is needed: run the tests with scripts/test.sh, or apt-get install s3cmd")
                .isExecutable();
        context = CellulerApplication.builder(CasServiceApplication.class, CasServiceApplication.NAME)
                .run("--celluler.data-dir=" + dir.resolve("cell"), "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1");
        String port = context.getEnvironment().getProperty("local.server.port");
        config = writeConfig("celluler-dev-secret", port);
    }

    @AfterEach
    void stop() {
        if (context != null) {
            context.close();
        }
    }

    static String s3cmd() {
        String fromEnv = System.getenv("CELLULER_TEST_S3CMD");
        return fromEnv != null && !fromEnv.isBlank() ? fromEnv : "/usr/bin/s3cmd";
    }

    private Path writeConfig(String secret, String port) throws Exception {
        Path c = dir.resolve("s3cfg-" + secret.hashCode());
        Files.writeString(c, String.join("\n", "[default]", "access_key = celluler", "secret_key = " + secret,
                "host_base = 127.0.0.1:" + port, "host_bucket = 127.0.0.1:" + port, "use_https = False",
                "signature_v2 = False", "bucket_location = us-east-1", "check_ssl_certificate = False", ""));
        return c;
    }

    /** Runs s3cmd with a bounded wait; returns {exit code, output}. */
    private Object[] run(Path cfg, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(s3cmd(), "-c", cfg.toString(), "--no-progress"));
        cmd.addAll(List.of(args));
        CliProcess p = CliProcess.run(cmd, java.util.Map.of(), dir);
        return new Object[] {p.exitCode(), p.output()};
    }

    private String ok(String... args) throws Exception {
        Object[] r = run(config, args);
        assertThat((int) r[0]).as("s3cmd %s:%n%s", String.join(" ", args), r[1]).isZero();
        return (String) r[1];
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void everydayUseWithS3cmd() throws Exception {
        byte[] big = random(6_000_000, 1);
        Files.write(dir.resolve("big.bin"), big);
        Files.writeString(dir.resolve("note.txt"), "cells all the way down\n");
        Path tree = Files.createDirectories(dir.resolve("tree/sub"));
        Files.writeString(dir.resolve("tree/a.txt"), "a");
        Files.writeString(tree.resolve("b.txt"), "b");

        ok("mb", "s3://clitest");
        assertThat(ok("ls")).contains("s3://clitest");
        ok("put", dir.resolve("big.bin").toString(), "s3://clitest/data/big.bin");
        ok("put", dir.resolve("note.txt").toString(), "s3://clitest/data/note.txt");
        String listing = ok("ls", "s3://clitest/data/");
        assertThat(listing).contains("s3://clitest/data/big.bin").contains("s3://clitest/data/note.txt").contains("6000000");

        ok("get", "s3://clitest/data/big.bin", dir.resolve("big.copy").toString());
        assertThat(Files.readAllBytes(dir.resolve("big.copy"))).isEqualTo(big);

        // above its 15 MB threshold s3cmd uploads in parts (multipart)
        byte[] huge = random(20_000_000, 2);
        Files.write(dir.resolve("huge.bin"), huge);
        ok("put", dir.resolve("huge.bin").toString(), "s3://clitest/data/huge.bin");
        ok("get", "s3://clitest/data/huge.bin", dir.resolve("huge.copy").toString());
        assertThat(Files.readAllBytes(dir.resolve("huge.copy"))).isEqualTo(huge);

        ok("sync", dir.resolve("tree").toString() + "/", "s3://clitest/tree/");
        assertThat(ok("ls", "--recursive", "s3://clitest/tree/")).contains("s3://clitest/tree/a.txt")
                .contains("s3://clitest/tree/sub/b.txt");
        // a second sync finds everything up to date (sizes and MD5 ETags match): nothing is uploaded again
        assertThat(ok("sync", dir.resolve("tree").toString() + "/", "s3://clitest/tree/")).doesNotContain("upload:");

        // lifecycle: s3cmd's expire writes a rule, getlifecycle reads it back, dellifecycle removes it
        ok("expire", "s3://clitest", "--expiry-days=30", "--expiry-prefix=logs/");
        assertThat(ok("getlifecycle", "s3://clitest")).contains("<Prefix>logs/</Prefix>").contains("<Days>30</Days>");
        ok("dellifecycle", "s3://clitest");
        assertThat(run(config, "getlifecycle", "s3://clitest")[1].toString()).contains("NoSuchLifecycleConfiguration");

        ok("del", "--recursive", "--force", "s3://clitest/");
        assertThat(ok("ls", "--recursive", "s3://clitest/").trim()).isEmpty();
        ok("rb", "s3://clitest");
        assertThat(ok("ls")).doesNotContain("s3://clitest");
    }

    @Test
    void aWrongSecretIsRefusedAndNothingIsStored() throws Exception {
        ok("mb", "s3://guarded");
        Files.writeString(dir.resolve("x.txt"), "x");
        Path wrong = writeConfig("not-the-secret", context.getEnvironment().getProperty("local.server.port"));

        Object[] r = run(wrong, "put", dir.resolve("x.txt").toString(), "s3://guarded/x.txt");

        assertThat((int) r[0]).isNotZero();
        assertThat((String) r[1]).contains("SignatureDoesNotMatch");
        assertThat(ok("ls", "s3://guarded/").trim()).isEmpty();
    }
}
