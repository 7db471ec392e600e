package io.celluler.core.arch;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.EvaluationResult;
import io.celluler.core.arch.fixture.engine.ImpureEngine;
import io.celluler.core.arch.fixture.engine.PureEngine;
import org.junit.jupiter.api.Test;

class ArchitectureRulesTest {

    @Test
    void impureEngineBreaksTheRuleOnEveryKindOfBreach() {
        JavaClasses classes = new ClassFileImporter().importClasses(ImpureEngine.class);

        EvaluationResult result = ArchitectureRules.ENGINES_ARE_PURE.evaluate(classes);

        assertThat(result.hasViolation()).isTrue();
        String report = String.join("\n", result.getFailureReport().getDetails());
        assertThat(report)
                .contains("System.currentTimeMillis")
                .contains("java.time.Instant")
                .contains("java.lang.Thread")
                .contains("java.io.File")
                .contains("io.grpc.Status")
                .contains("org.springframework.util.StringUtils");
    }

    @Test
    void pureEnginePasses() {
        JavaClasses classes = new ClassFileImporter().importClasses(PureEngine.class);

        assertThat(ArchitectureRules.ENGINES_ARE_PURE.evaluate(classes).hasViolation()).isFalse();
    }

    @Test
    void sharedCoreItselfKeepsTheRule() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(com.tngtech.archunit.core.importer.ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.celluler.core");

        ArchitectureRules.ENGINES_ARE_PURE.check(classes);
    }
}
