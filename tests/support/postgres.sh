#!/usr/bin/env bash
# The one PostgreSQL a test run shares: `postgres.sh start STATE_FILE` initdb's a cluster in a
# fresh temp dir, starts it listening on a Unix socket in that dir only (no TCP port, so it
# never collides with anything), and writes a libpq conninfo for it to STATE_FILE;
# `postgres.sh stop STATE_FILE` stops it and removes the dir. PostgreSQL refuses to run as
# root, so as root the cluster belongs to the postgres user (runuser). ctest runs these as the
# setup and cleanup of the `postgres` fixture; tests that need it read STATE_FILE.
# `postgres.sh halt STATE_FILE` stops the server and keeps its data; `postgres.sh resume
# STATE_FILE` starts it again on the same socket (tests of an outage start a private one).
set -euo pipefail
cmd=${1:?start|stop}
state=${2:?state file}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    if [ -f "$state" ]; then "$0" stop "$state" || true; fi
    dir=$(mktemp -d /tmp/stratus-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c max_connections=300 -c shared_buffers=64MB" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    mkdir -p "$(dirname "$state")"
    printf 'host=%s user=postgres dbname=postgres\n' "$dir" >"$state"
    printf '%s\n' "-c listen_addresses='' -k $dir -c max_connections=300 -c shared_buffers=64MB" >"$dir/options"
    echo "postgres.sh: PostgreSQL on $dir (conninfo in $state)"
    ;;
  stop)
    [ -f "$state" ] || exit 0
    dir=$(sed -n 's/^host=\([^ ]*\) .*/\1/p' "$state")
    if [ -n "$dir" ] && [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
      rm -rf "$dir"
    fi
    rm -f "$state"
    ;;
  halt | resume)
    dir=$(sed -n 's/^host=\([^ ]*\) .*/\1/p' "$state")
    [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "postgres.sh: no cluster in $state" >&2; exit 1; }
    if [ "$cmd" = halt ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    else
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >/dev/null ||
        { cat "$dir/server.log" >&2; exit 1; }
    fi
    ;;
  *) echo "usage: postgres.sh start|stop|halt|resume STATE_FILE" >&2; exit 2 ;;
esac
