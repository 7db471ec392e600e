#!/usr/bin/env bash
# Runs a benchmark: bench/run.sh <benchmark> [options]   (bench/run.sh --help lists them)
# BENCH_JAVA_OPTS sets the JVM options (default -Xmx2g), e.g. BENCH_JAVA_OPTS=-Xmx4g for consensus at 10,000 tx/s.
# Builds what is missing first. Results go to docs/benchmarks.md by hand, with the date and the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/java.sh"
find_java
cd "$ROOT"
if [ ! -f bench/target/celluler-bench-exec.jar ] || [ -n "$(find . -path ./.git -prune -o -path '*/target' -prune -o \
     \( -name '*.java' -o -name '*.proto' -o -name '*.yml' -o -name pom.xml \) -newer bench/target/celluler-bench-exec.jar -print -quit)" ]; then
  ./mvnw -B -q -DskipTests -pl bench -am install >&2
fi
exec "$JAVA_HOME/bin/java" ${BENCH_JAVA_OPTS:--Xmx2g} -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED \
  -jar bench/target/celluler-bench-exec.jar "$@"
