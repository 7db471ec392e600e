package io.celluler.cas.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.celluler.cas.CasServiceApplication;
import io.celluler.core.boot.CellulerApplication;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The S3 API with the aws CLI as Debian packages it (2.9, an older botocore that reads a 100 Continue only with its
 * reason phrase: the reason cas-service runs on Jetty): everyday use — make a bucket, upload (in parts above 8 MB),
 * list, download, sync twice (the second uploads nothing), versioning, delete markers, a lifecycle rule, remove.
 */
class AwsCliIT {

    @TempDir
    Path dir;

    private ConfigurableApplicationContext context;
    private String endpoint;

    @BeforeEach
    void start() {
        assertThat(Path.of(aws())).as("the aws CLI is needed: run the tests with scripts/test.sh, or apt-get install awscli")
                .isExecutable();
        context = CellulerApplication.builder(CasServiceApplication.class, CasServiceApplication.NAME)
                .run("--celluler.data-dir=" + dir.resolve("cell"), "--server.port=0", "--server.address=127.0.0.1",
                        "--spring.grpc.server.port=0", "--spring.grpc.server.host=127.0.0.1");
        endpoint = "http://127.0.0.1:" + context.getEnvironment().getProperty("local.server.port");
    }

    @AfterEach
    void stop() {
        if (context != null) {
            context.close();
        }
    }

    /** Debian's aws CLI (scripts/test.sh installs it), or the one CELLULER_TEST_AWSCLI names. */
    static String aws() {
        String fromEnv = System.getenv("CELLULER_TEST_AWSCLI");
        return fromEnv != null && !fromEnv.isBlank() ? fromEnv : "/usr/bin/aws";
    }

    private String ok(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(aws(), "--endpoint-url", endpoint, "--no-cli-pager"));
        cmd.addAll(List.of(args));
        // only these credentials and settings: nothing from the machine's ~/.aws
        Map<String, String> env = Map.of("AWS_ACCESS_KEY_ID", "celluler", "AWS_SECRET_ACCESS_KEY", "celluler-dev-secret",
                "AWS_DEFAULT_REGION", "us-east-1", "AWS_CONFIG_FILE", dir.resolve("no-config").toString(),
                "AWS_SHARED_CREDENTIALS_FILE", dir.resolve("no-credentials").toString(), "AWS_EC2_METADATA_DISABLED", "true",
                "HOME", dir.toString());
        CliProcess p = CliProcess.run(cmd, env, dir);
        assertThat(p.exitCode()).as("aws %s:%n%s", String.join(" ", args), p.output()).isZero();
        return p.output();
    }

    @Test
    void everydayUseWithDebiansAwsCli() throws Exception {
        byte[] big = new byte[20_000_000];
        new Random(3).nextBytes(big);
        Files.write(dir.resolve("big.bin"), big);
        Path tree = Files.createDirectories(dir.resolve("tree/sub"));
        Files.writeString(dir.resolve("tree/a.txt"), "a");
        Files.writeString(tree.resolve("b c+d.txt"), "b");

        ok("s3", "mb", "s3://awscli");
        ok("s3", "cp", dir.resolve("big.bin").toString(), "s3://awscli/data/big.bin", "--only-show-errors");
        assertThat(ok("s3", "ls", "s3://awscli/data/")).contains("20000000 big.bin");
        ok("s3", "cp", "s3://awscli/data/big.bin", dir.resolve("big.copy").toString(), "--only-show-errors");
        assertThat(Files.readAllBytes(dir.resolve("big.copy"))).isEqualTo(big);
        // above 8 MB the CLI uploads in parts: the ETag says how many
        assertThat(ok("s3api", "head-object", "--bucket", "awscli", "--key", "data/big.bin")).contains("-3\\\"");

        assertThat(ok("s3", "sync", dir.resolve("tree").toString(), "s3://awscli/tree")).contains("upload:");
        assertThat(ok("s3", "sync", dir.resolve("tree").toString(), "s3://awscli/tree")).doesNotContain("upload:");
        assertThat(ok("s3", "ls", "--recursive", "s3://awscli/tree/")).contains("tree/a.txt").contains("tree/sub/b c+d.txt");

        ok("s3api", "put-bucket-versioning", "--bucket", "awscli", "--versioning-configuration", "Status=Enabled");
        assertThat(ok("s3api", "get-bucket-versioning", "--bucket", "awscli")).contains("Enabled");
        ok("s3", "rm", "--recursive", "s3://awscli/tree/");
        assertThat(ok("s3api", "list-object-versions", "--bucket", "awscli", "--prefix", "tree/", "--query",
                "DeleteMarkers[].Key")).contains("tree/a.txt").contains("tree/sub/b c+d.txt");

        ok("s3api", "put-bucket-lifecycle-configuration", "--bucket", "awscli", "--lifecycle-configuration",
                "{\"Rules\":[{\"ID\":\"tmp\",\"Filter\":{\"Prefix\":\"tmp/\"},\"Status\":\"Enabled\",\"Expiration\":{\"Days\":7}}]}");
        assertThat(ok("s3api", "get-bucket-lifecycle-configuration", "--bucket", "awscli")).contains("\"Days\": 7");
    }
}
