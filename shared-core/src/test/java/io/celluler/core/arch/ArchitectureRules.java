package io.celluler.core.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.lang.ArchRule;

/**
 * Architecture rules every module applies to its own classes (this class ships in shared-core's test-jar).
 *
 * <p>DESIGN §6: protocol engines are pure, deterministic state machines. Inputs go in, outputs come out;
 * the Spring service around an engine does all I/O, threading and timekeeping. So an {@code engine}
 * package may not touch Spring, gRPC/Netty, files or sockets, threads and executors, the wall clock,
 * or unseeded randomness.
 */
public final class ArchitectureRules {

    private ArchitectureRules() {
    }

    public static final ArchRule ENGINES_ARE_PURE = noClasses()
            .that().resideInAPackage("..engine..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "org.springframework..",
                    "io.grpc..",
                    "io.netty..",
                    "reactor..",
                    "jakarta.persistence..",
                    "java.io..",
                    "java.nio.file..",
                    "java.nio.channels..",
                    "java.net..",
                    "java.util.concurrent..",
                    "java.sql..")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Thread")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Runnable")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.util.Timer")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.util.Random")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.security.SecureRandom")
            .orShould().callMethod(System.class, "currentTimeMillis")
            .orShould().callMethod(System.class, "nanoTime")
            .orShould().callMethod(Math.class, "random")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.time.Clock")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.time.Instant")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.time.LocalDateTime")
            .because("engines are deterministic state machines driven by their caller (DESIGN §6): "
                    + "time is ticks, randomness is an injected seeded generator, I/O and threads live outside")
            .allowEmptyShould(true);
}
