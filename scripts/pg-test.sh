#!/usr/bin/env bash
# A throwaway PostgreSQL for Sluice's tests: its own data dir, loopback only.
#
#   eval "$(scripts/pg-test.sh start)"   # init (first time) + start; prints `export SLUICE_TEST_PG_URL=…`
#   scripts/pg-test.sh stop              # stop, keep the data
#   scripts/pg-test.sh destroy           # stop and delete the data dir
#
# SLUICE_PG_DIR (default /tmp/sluice-pg) and SLUICE_PG_PORT (default 55432) choose the
# instance, so a test can run a second one it may stop and start at will. Needs the
# Debian `postgresql` package (`apt-get install -y postgresql`). Run as root, the server
# runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

dir=${SLUICE_PG_DIR:-/tmp/sluice-pg}
port=${SLUICE_PG_PORT:-55432}
data=$dir/data
user=sluice
password=sluice-test
database=sluice_test

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
fi
if [ -z "$bindir" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-test.sh: PostgreSQL server binaries not found; install them with: apt-get install -y postgresql" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$dir"
      if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
      fresh=1
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
        || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    if [ "${fresh:-0}" = 1 ]; then
      as_owner "$bindir/psql" -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $user LOGIN PASSWORD '$password'" \
        -c "CREATE DATABASE $database OWNER $user" >/dev/null
    fi
    echo "export SLUICE_TEST_PG_URL=postgres://$user:$password@127.0.0.1:$port/$database"
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then
      as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  destroy)
    "$0" stop
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|destroy" >&2
    exit 2
    ;;
esac
