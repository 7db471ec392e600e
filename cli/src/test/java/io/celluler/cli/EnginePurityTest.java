package io.celluler.cli;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.celluler.core.arch.ArchitectureRules;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine rule (DESIGN §6) over every module of the cell: this module depends on all of them, so their
 * classes are all here. An engine package that reaches for Spring, gRPC, I/O, threads or the clock fails it.
 */
class EnginePurityTest {

    @Test
    void everyEnginePackageIsPure() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // ... which knows test-classes folders, not test-jars (network-service's is on this classpath)
                .withImportOption(location -> !location.contains("-tests.jar"))
                // shared-core's test-jar carries a deliberately impure fixture engine
                .withImportOption(location -> !location.contains("/io/celluler/core/arch/fixture/"))
                .importPackages("io.celluler");

        // the import really sees the services (the rule is not checked against nothing)
        assertThat(classes.contain(io.celluler.cas.grpc.CasGrpcService.class)).isTrue();
        assertThat(classes.contain(io.celluler.gateway.transcode.RestTranscoder.class)).isTrue();
        assertThat(classes.contain(io.celluler.catalog.engine.CatalogReplica.class)).isTrue();
        ArchitectureRules.ENGINES_ARE_PURE.check(classes);
    }
}
