# shellcheck shell=bash
# Finds a JDK 21 or newer and exports JAVA_HOME (sourced by ./celluler and scripts/test.sh).
# Order: $JAVA_HOME, `java` on the PATH, then the usual install folders. The newest suitable one wins
# among the folders.

java_major() { # prints the major version of the java binary $1, or nothing
  { "$1" -XshowSettings:properties -version 2>&1 || true; } \
    | sed -n 's/^ *java\.specification\.version = //p' | head -n1 | cut -d. -f1
}

find_java() {
  local c major best="" best_major=0
  # an explicit choice first: $JAVA_HOME, then the `java` on the PATH
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null || true)"; do
    [ -x "$c" ] || continue
    major=$(java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then best="$c"; break; fi
  done
  # else the newest JDK >= 21 in the usual folders
  if [ -z "$best" ]; then
    for c in /usr/lib/jvm/*/bin/java /opt/java/*/bin/java /opt/*jdk*/bin/java "$HOME"/.sdkman/candidates/java/*/bin/java \
             /Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java; do
      [ -x "$c" ] || continue
      major=$(java_major "$c")
      if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best="$c"; best_major="$major"; fi
    done
  fi
  if [ -z "$best" ]; then
    cat >&2 <<'MSG'
celluler: no JDK 21 or newer found (checked $JAVA_HOME, `java` on the PATH, /usr/lib/jvm, /opt, ~/.sdkman).
Install one (a Temurin or OpenJDK 21/25 build) and set JAVA_HOME to it.
MSG
    return 1
  fi
  JAVA_HOME=$(cd "$(dirname "$best")/.." && pwd)
  export JAVA_HOME
  export PATH="$JAVA_HOME/bin:$PATH"
}
