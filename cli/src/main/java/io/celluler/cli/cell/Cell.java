package io.celluler.cli.cell;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.celluler.core.boot.CellulerApplication;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.client.ReactorResourceFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A whole cell in one JVM: each of the nine services in its own Spring context, with its own ports and its
 * own configuration file, like Loki's {@code -target=all}. This is what {@code celluler up} runs and what the
 * end-to-end tests start.
 *
 * <p>The services start in parallel (a small pool: this is a 2-core target), the gateway last; closing the
 * cell stops the gateway first, then the rest.
 */
public final class Cell implements AutoCloseable {

    /**
     * How to start a cell.
     *
     * @param dataDir    where every service keeps its state ({@code <dataDir>/<service>})
     * @param cellIndex  k: every port is the DESIGN §4 port + 10 × k ({@link CellService#offset})
     * @param bindAddress address every listener binds to ({@code 127.0.0.1} on a laptop)
     * @param extraArgs  more Spring arguments given to every service (e.g. {@code --logging.file.name=...})
     * @param startThreads how many services start at once
     * @param services   the services to run, by name; empty runs all nine (a partial cell: e.g. only
     *                   {@code network-service} for a light local network)
     */
    public record Options(Path dataDir, int cellIndex, String bindAddress, List<String> extraArgs, int startThreads,
            List<String> services) {

        /** Every service runs unless {@code services} names some. */
        public Options(Path dataDir, int cellIndex, String bindAddress, List<String> extraArgs, int startThreads) {
            this(dataDir, cellIndex, bindAddress, extraArgs, startThreads, List.of());
        }

        public static Options defaults(Path dataDir) {
            return new Options(dataDir, 0, "127.0.0.1", List.of(), 3);
        }

        public Options withCellIndex(int k) {
            return new Options(dataDir, k, bindAddress, extraArgs, startThreads, services);
        }

        public Options withExtraArgs(List<String> args) {
            return new Options(dataDir, cellIndex, bindAddress, args, startThreads, services);
        }

        /** Only these services (by name); empty: all nine. */
        public Options withServices(List<String> names) {
            return new Options(dataDir, cellIndex, bindAddress, extraArgs, startThreads, List.copyOf(names));
        }

        /** The services this cell runs, in the order of {@link CellService#ALL}. */
        public List<CellService> selected() {
            return CellService.ALL.stream().filter(s -> services.isEmpty() || services.contains(s.name())).toList();
        }
    }

    /** One started service. */
    public record Running(CellService service, ConfigurableApplicationContext context, Duration startTime) {
    }

    /** The network-service's cell-to-cell port (DESIGN §4), + {@link CellService#offset} of the cell index. */
    public static final int P2P_PORT = 7101;

    private static final String LOGGING_SYSTEM_PROPERTY = "org.springframework.boot.logging.LoggingSystem";

    private final Options options;
    private final List<Running> running;
    private final Duration startTime;

    private Cell(Options options, List<Running> running, Duration startTime) {
        this.options = options;
        this.running = running;
        this.startTime = startTime;
    }

    public static Cell start(Options options) {
        return start(options, running -> { });
    }

    /**
     * Starts a cell, telling {@code onStarted} of each service as soon as it runs (so that a caller can stop
     * what has started if it is interrupted half-way, e.g. by Ctrl-C during start-up; see {@link #closeAll}).
     */
    public static Cell start(Options options, java.util.function.Consumer<Running> onStarted) {
        long t0 = System.nanoTime();
        List<Running> started = new ArrayList<>();
        java.util.function.Consumer<Running> record = r -> {
            started.add(r);
            onStarted.accept(r);
        };
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.startThreads()), r -> {
            Thread t = new Thread(r, "cell-start");
            t.setDaemon(true);
            return t;
        });
        String loggingSystem = System.getProperty(LOGGING_SYSTEM_PROPERTY);
        try {
            // Logback is one per JVM and its reconfiguration is not thread-safe: the first service sets it
            // up (JSON, file or console), the others start in parallel and leave it alone
            List<CellService> backendServices = options.selected().stream().filter(s -> !s.isGateway()).toList();
            Throwable failure = null;
            List<Future<Running>> backends = new ArrayList<>();
            try {
                if (backendServices.isEmpty()) {
                    throw new IllegalArgumentException("a cell needs at least one service besides the gateway");
                }
                record.accept(startService(backendServices.get(0), options));
                System.setProperty(LOGGING_SYSTEM_PROPERTY, "none");
                for (CellService s : backendServices.subList(1, backendServices.size())) {
                    backends.add(pool.submit(() -> startService(s, options)));
                }
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (Future<Running> f : backends) {
                try {
                    record.accept(f.get());
                } catch (ExecutionException e) {
                    failure = failure == null ? e.getCause() : failure;
                }
            }
            if (failure == null && options.selected().stream().anyMatch(CellService::isGateway)) {
                CellService gateway = CellService.ALL.stream().filter(CellService::isGateway).findFirst().orElseThrow();
                try {
                    record.accept(startService(gateway, options));
                } catch (RuntimeException | Error e) {
                    failure = e;
                }
            }
            if (failure != null) {
                closeAll(started);
                throw new IllegalStateException("the cell did not start: " + failure.getMessage(), failure);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAll(started);
            throw new IllegalStateException("interrupted while starting the cell", e);
        } finally {
            pool.shutdownNow();
            if (loggingSystem == null) {
                System.clearProperty(LOGGING_SYSTEM_PROPERTY);
            } else {
                System.setProperty(LOGGING_SYSTEM_PROPERTY, loggingSystem);
            }
        }
        return new Cell(options, List.copyOf(started), Duration.ofNanos(System.nanoTime() - t0));
    }

    private static Running startService(CellService s, Options o) {
        long t0 = System.nanoTime();
        List<String> args = new ArrayList<>(List.of(
                "--celluler.data-dir=" + o.dataDir().toAbsolutePath(),
                "--server.port=" + s.httpPort(o.cellIndex()),
                "--server.address=" + o.bindAddress(),
                // one JVM, nine contexts: keep each context's meters to itself
                "--management.metrics.use-global-registry=false",
                "--spring.jmx.enabled=false"));
        if (s.isGateway()) {
            for (CellService backend : CellService.ALL) {
                if (!backend.isGateway()) {
                    args.add("--celluler.gateway.backends." + backend.name() + "=" + o.bindAddress() + ":"
                            + backend.grpcPort(o.cellIndex()));
                }
            }
        } else {
            args.add("--spring.grpc.server.port=" + s.grpcPort(o.cellIndex()));
            args.add("--spring.grpc.server.host=" + o.bindAddress());
        }
        String networkService = o.bindAddress() + ":" + CellService.ALL.stream()
                .filter(x -> x.name().equals("network-service")).findFirst().orElseThrow().grpcPort(o.cellIndex());
        if (s.name().equals("consensus-service")) {
            // validators talk through this cell's network-service
            args.add("--celluler.consensus.network-address=" + networkService);
        }
        if (s.name().equals("cas-service") && (o.services().isEmpty() || o.services().contains("network-service"))) {
            // copies and repairs between cells go through this cell's network-service
            args.add("--celluler.cas.replication.network-address=" + networkService);
        }
        if (s.name().equals("data-service") && (o.services().isEmpty() || o.services().contains("network-service"))) {
            // followed feeds come through this cell's network-service
            args.add("--celluler.data.replication.network-address=" + networkService);
        }
        if (s.name().equals("catalog-service") && (o.services().isEmpty() || o.services().contains("network-service"))) {
            // catalog gossip and anti-entropy go through this cell's network-service
            args.add("--celluler.catalog.replication.network-address=" + networkService);
        }
        if (s.name().equals("state-service") && (o.services().isEmpty() || o.services().contains("consensus-service"))) {
            // the state machine applies this cell's committed blocks
            args.add("--celluler.state.consensus-address=" + o.bindAddress() + ":" + CellService.ALL.stream()
                    .filter(x -> x.name().equals("consensus-service")).findFirst().orElseThrow()
                    .grpcPort(o.cellIndex()));
        }
        if (s.name().equals("state-service") && (o.services().isEmpty() || o.services().contains("network-service"))) {
            // state roots are compared with other cells through this cell's network-service
            args.add("--celluler.state.network-address=" + networkService);
        }
        if (s.name().equals("network-service")) {
            args.add("--celluler.network.p2p-port=" + (P2P_PORT + CellService.offset(o.cellIndex())));
            args.add("--celluler.network.p2p-host=" + o.bindAddress());
            if (!o.services().isEmpty()) {
                // a partial cell tells other cells only what it runs
                args.add("--celluler.network.advertised-services=" + String.join(",", o.services()));
            }
        }
        args.addAll(o.extraArgs());
        ConfigurableApplicationContext ctx = CellulerApplication.builder(s.application(), s.name())
                .registerShutdownHook(false)
                .initializers(Cell::ownReactorResources)
                .run(args.toArray(String[]::new));
        return new Running(s, ctx, Duration.ofNanos(System.nanoTime() - t0));
    }

    /**
     * Every context that has Reactor Netty HTTP resources (the gateway's server and client; WebClient support in
     * the others) gets its own instead of Reactor's JVM-global ones: closing a context disposes the global
     * resources, which would take down the gateway's port with any other service.
     */
    private static void ownReactorResources(ConfigurableApplicationContext context) {
        context.getBeanFactory().addBeanPostProcessor(new BeanPostProcessor() {
            @Override
            public Object postProcessBeforeInitialization(Object bean, String beanName) {
                if (bean instanceof ReactorResourceFactory factory) {
                    factory.setUseGlobalResources(false);
                }
                return bean;
            }
        });
    }

    /** The bean of one service's context, or null when that service does not run in this cell. */
    public <T> T bean(String service, Class<T> type) {
        return running.stream().filter(r -> r.service().name().equals(service)).findFirst()
                .map(r -> r.context().getBean(type)).orElse(null);
    }

    public String gatewayUrl() {
        return "http://" + options.bindAddress() + ":" + gateway().httpPort(options.cellIndex());
    }

    public int gatewayPort() {
        return gateway().httpPort(options.cellIndex());
    }

    private static CellService gateway() {
        return CellService.ALL.stream().filter(CellService::isGateway).findFirst().orElseThrow();
    }

    public List<Running> services() {
        return running;
    }

    public Duration startTime() {
        return startTime;
    }

    public Options options() {
        return options;
    }

    /** The health each service reports on its actuator endpoint ({@code UP}, {@code DOWN}, or why it failed). */
    public Map<String, String> health() {
        return health(options.bindAddress(), options.cellIndex(), options.selected());
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Health of a cell's services, by asking each one's {@code /actuator/health} (used by {@code celluler status}). */
    public static Map<String, String> health(String host, int cellIndex) {
        return health(host, cellIndex, CellService.ALL);
    }

    private static Map<String, String> health(String host, int cellIndex, List<CellService> services) {
        Map<String, String> result = new LinkedHashMap<>();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            for (CellService s : services) {
                URI uri = URI.create("http://" + host + ":" + s.httpPort(cellIndex) + "/actuator/health");
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    JsonNode status = JSON.readTree(r.body()).path("status");
                    result.put(s.name(), status.isString() ? status.asString() : "HTTP " + r.statusCode());
                } catch (IOException | tools.jackson.core.JacksonException e) {
                    result.put(s.name(), "UNREACHABLE (" + e.getClass().getSimpleName() + ")");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    result.put(s.name(), "INTERRUPTED");
                }
            }
        }
        return result;
    }

    @Override
    public void close() {
        closeAll(running);
    }

    /** Stops services in the cell's order: the gateway first, then the rest. */
    public static void closeAll(List<Running> services) {
        // the gateway first, so no request reaches a service that is going away
        List<Running> order = new ArrayList<>(services);
        order.sort((a, b) -> Boolean.compare(b.service().isGateway(), a.service().isGateway()));
        for (Running r : order) {
            try {
                r.context().close();
            } catch (RuntimeException e) {
                System.err.println("error stopping " + r.service().name() + ": " + e.getMessage());
            }
        }
    }
}
