#!/usr/bin/env bash
# `./x cluster N [serve flags...]`: a local stratus cluster for trying things out. Starts a
# PostgreSQL of its own (Debian's binaries, initdb into a temp dir, on a Unix socket there;
# run as the postgres user when root, by tests/support/postgres.sh), a redis-server for the
# Redis REST API every node shares (when one is installed; else that API is off), and N
# `stratus serve --store ...` nodes on free ports, each with its own data dir. Prints how to
# reach every node and stops everything on Ctrl-C (or when a node exits).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: ./x cluster N [stratus serve flags...]}
shift
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: N must be a positive number, not '$n'" >&2; exit 2; }
bin=${STRATUS_BIN:-build/src/cli/stratus}
[ -x "$bin" ] || { echo "cluster: $bin not found (./x build first)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/stratus-cluster.XXXXXX)
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "cluster: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash tests/support/postgres.sh stop "$tmp/pg.state" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

bash tests/support/postgres.sh start "$tmp/pg.state" >/dev/null
conninfo=$(cat "$tmp/pg.state")

redis=(--redis-listen off)
token=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
if command -v redis-server >/dev/null; then
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
  pids+=($!)
  redis=(--redis-url "redis://127.0.0.1:$port" --redis-token "$token")
fi

echo "cluster: PostgreSQL: psql '$conninfo'"
[ "${redis[0]}" = --redis-url ] && echo "cluster: Redis (shared by every node): ${redis[1]}"
for i in $(seq 1 "$n"); do
  log="$tmp/node$i.log"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/node$i" --store "$conninfo" "${redis[@]}" "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q '^stratus: ready' "$log" && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^stratus: ready' "$log"; then
    echo "cluster: node $i did not start:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
  rest=$(sed -n 's/^stratus: Cloud Tasks v2 API on \([^ ]*\).*/\1/p' "$log")
  grpc=$(sed -n 's/^stratus: Cloud Tasks v2 gRPC API on \([^ ]*\).*/\1/p' "$log")
  kv=$(sed -n 's/^stratus: Redis REST API on \([^ ]*\).*/\1/p' "$log")
  echo "node $i (pid ${pids[-1]}, log $log):"
  echo "  REST       $rest"
  [ -n "$grpc" ] && echo "  gRPC       $grpc"
  echo "  dashboard  $rest/ui/"
  [ -n "$kv" ] && echo "  Redis REST $kv (token $token)"
done
echo "cluster: $n node(s) on one database; try  CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS=<REST>/ gcloud tasks queues list --location us-central1"
echo "cluster: Ctrl-C stops everything"
# Until Ctrl-C, or until any process of the cluster exits.
wait -n "${pids[@]}" || true
echo "cluster: a process exited; see the logs above" >&2
