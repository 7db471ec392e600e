#!/usr/bin/env bash
# The project's test command (README, CI): makes sure PostgreSQL and Redis run on loopback, exports their URLs
# for the tests, finds a JDK >= 21, then runs `./mvnw -B verify` (extra arguments are passed to Maven).
#
# PostgreSQL: a running server on 127.0.0.1:5432 is used; an installed but stopped Debian cluster is started;
# none at all is installed with apt-get (as root). The tests log in as role `celluler` (created here when
# missing, password `celluler`) to database `celluler`. Set CELLULER_TEST_POSTGRES_URL to use another server.
# Redis: the same, on 127.0.0.1:6379 (CELLULER_TEST_REDIS_URL). s3cmd and the aws CLI (S3 command-line clients):
# installed with apt-get when missing (CELLULER_TEST_S3CMD, CELLULER_TEST_AWSCLI: Debian's /usr/bin/aws first).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=java.sh
. "$ROOT/scripts/java.sh"

say() { echo "[test.sh] $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else say "needs root (or passwordless sudo) to run: $*"; return 1
  fi
}
apt_install() {
  say "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # wait_for <what> <command...>: up to 30 s
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "$what did not come up"; return 1
}

ensure_postgres() {
  if [ -n "${CELLULER_TEST_POSTGRES_URL:-}" ]; then say "PostgreSQL: using $CELLULER_TEST_POSTGRES_URL"; return; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    apt_install postgresql postgresql-client
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$version" ] || { say "PostgreSQL is installed but has no cluster under /etc/postgresql"; exit 1; }
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
  fi
  # a role and a database for the tests (through the local socket as the postgres superuser)
  if ! PGPASSWORD=celluler psql -h 127.0.0.1 -U celluler -d celluler -w -tAc 'select 1' >/dev/null 2>&1; then
    say "creating PostgreSQL role and database 'celluler'"
    as_root su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'celluler') THEN
    CREATE ROLE celluler LOGIN PASSWORD 'celluler';
  ELSE
    ALTER ROLE celluler LOGIN PASSWORD 'celluler';
  END IF;
END $$;
SELECT 'CREATE DATABASE celluler OWNER celluler' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'celluler')\gexec
SQL
  fi
  export CELLULER_TEST_POSTGRES_URL="jdbc:postgresql://127.0.0.1:5432/celluler?user=celluler&password=celluler"
  say "PostgreSQL: $CELLULER_TEST_POSTGRES_URL"
}

ensure_redis() {
  if [ -n "${CELLULER_TEST_REDIS_URL:-}" ]; then say "Redis: using $CELLULER_TEST_REDIS_URL"; return; fi
  if ! command -v redis-server >/dev/null 2>&1 && ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1); then
    apt_install redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
  fi
  export CELLULER_TEST_REDIS_URL="redis://127.0.0.1:6379"
  say "Redis: $CELLULER_TEST_REDIS_URL"
}

# s3cmd: a real S3 command-line client for the S3 API's tests (S3CliIT)
ensure_s3cmd() {
  command -v s3cmd >/dev/null 2>&1 || apt_install s3cmd
  export CELLULER_TEST_S3CMD="$(command -v s3cmd)"
  say "s3cmd: $CELLULER_TEST_S3CMD"
}

# the aws CLI as Debian packages it (AwsCliIT): its older botocore is what users of `apt install awscli` have
ensure_awscli() {
  if [ -n "${CELLULER_TEST_AWSCLI:-}" ]; then say "aws CLI: using $CELLULER_TEST_AWSCLI"; return; fi
  [ -x /usr/bin/aws ] || apt_install awscli
  export CELLULER_TEST_AWSCLI=/usr/bin/aws
  say "aws CLI: $CELLULER_TEST_AWSCLI"
}

find_java
say "JDK: $JAVA_HOME"
ensure_postgres
ensure_redis
ensure_s3cmd
ensure_awscli
exec ./mvnw -B verify "$@"
