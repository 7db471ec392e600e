package io.celluler.core.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

/** One web server per service whatever shares the classpath: Tomcat by default, Jetty when a service asks. */
class WebServerChoiceTest {

    static final String[] CANDIDATES = {
            "org.springframework.boot.jetty.autoconfigure.servlet.JettyServletWebServerAutoConfiguration",
            "org.springframework.boot.jetty.autoconfigure.reactive.JettyReactiveWebServerAutoConfiguration",
            "org.springframework.boot.tomcat.autoconfigure.servlet.TomcatServletWebServerAutoConfiguration",
            "org.springframework.boot.reactor.netty.autoconfigure.NettyReactiveWebServerAutoConfiguration",
            "org.springframework.boot.actuate.autoconfigure.health.HealthEndpointAutoConfiguration",
            null};

    static boolean[] match(MockEnvironment env) {
        WebServerChoice choice = new WebServerChoice();
        choice.setEnvironment(env);
        return choice.match(CANDIDATES, null);
    }

    @Test
    void jettyIsLeftOutUnlessAServiceAsksForIt() {
        assertThat(match(new MockEnvironment())).containsExactly(false, false, true, true, true, true);
    }

    @Test
    void aServiceThatAsksForJettyGetsItAndNotTomcat() {
        assertThat(match(new MockEnvironment().withProperty("celluler.web-server", "jetty")))
                .containsExactly(true, true, false, true, true, true);
    }
}
