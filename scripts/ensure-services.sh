#!/usr/bin/env bash
# Makes sure what the test suites talk to is there: Redis on 127.0.0.1:6379, PostgreSQL on
# 127.0.0.1:5432 with a `test` database, and (with --browser) Debian's Chromium for the browser
# tests. Starts a stopped server the way the machine image does and installs Chromium when it can
# (as root, with apt). When something is missing and cannot be fixed from here it stops at once
# with ONE line naming what is missing and the command that fixes it: the Redis, PostgreSQL and
# browser suites are never skipped, and never fail deep inside a suite for want of a service.
#
# Run by `npm test` (scripts/test.mjs) before any suite, and by `npm run services`.
set -uo pipefail

browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    *) echo "ensure-services: unknown argument $arg (known: --browser)" >&2; exit 2 ;;
  esac
done

log() { printf 'ensure-services: %s\n' "$*" >&2; }
missing() { # what, fix
  printf 'npm test: %s. Fix: %s\n' "$1" "$2" >&2
  exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }

wait_for() { # seconds, command...
  local tries=$(( $1 * 2 )); shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

# --- Redis ---------------------------------------------------------------------------------
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  missing "Redis is not installed (the Redis and Redis Cluster suites need redis-server and redis-cli)" \
    "apt-get install redis-server (as root), then npm test"
fi
if ! redis_up; then
  log "starting Redis on 127.0.0.1:6379"
  if is_root; then mkdir -p /var/lib/redis /var/log/redis; dir=/var/lib/redis; log_file=/var/log/redis/ci.log
  else dir=${TMPDIR:-/tmp}; log_file=$dir/tessera-redis.log; fi
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$log_file" >/dev/null 2>&1
  wait_for 30 redis_up ||
    missing "Redis is not reachable on 127.0.0.1:6379 and could not be started (see $log_file)" \
      "start it: redis-server --port 6379 --save '' --daemonize yes"
fi

# --- PostgreSQL ----------------------------------------------------------------------------
if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
  missing "PostgreSQL is not installed (the PostgreSQL suites need a server with psql and pg_isready)" \
    "apt-get install postgresql (as root), then npm test"
fi
pg_up() { pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
if ! pg_up; then
  log "starting PostgreSQL on 127.0.0.1:5432"
  if is_root && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start >/dev/null 2>&1
  fi
  wait_for 30 pg_up ||
    missing "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" \
      "as root: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
fi
psql_root() { psql -h 127.0.0.1 -U postgres -d postgres -tAc "$1" 2>/dev/null; }
if [ "$(psql_root 'SELECT 1')" != 1 ]; then
  missing "PostgreSQL on 127.0.0.1:5432 does not let user postgres in without a password (the suites use trust auth, as Debian's test machines do)" \
    "allow 'host all postgres 127.0.0.1/32 trust' in pg_hba.conf, or point the suites at a server that does"
fi
if [ "$(psql_root "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql_root "CREATE DATABASE test" >/dev/null ||
    missing "the PostgreSQL database 'test' is missing and could not be created" \
      "psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'"
fi

# --- Chromium (browser tests) --------------------------------------------------------------
if [ "$browser" = 1 ]; then
  chromium=${TESSERA_CHROMIUM:-/usr/bin/chromium}
  if [ ! -x "$chromium" ]; then
    if is_root && [ -z "${TESSERA_CHROMIUM:-}" ] && command -v apt-get >/dev/null; then
      log "installing Debian chromium for the browser tests (once; about a minute)"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1
    fi
    [ -x "$chromium" ] ||
      missing "Chromium is missing at $chromium (the browser tests drive a real headless Chromium)" \
        "apt-get install chromium (as root), or set TESSERA_CHROMIUM to a Chromium binary"
  fi
  "$chromium" --version >/dev/null 2>&1 ||
    missing "$chromium does not start" "reinstall it: apt-get install --reinstall chromium"
fi
exit 0
