#!/usr/bin/env bash
# `./x cluster N` (scripts/cluster.sh) end to end: it prints every node's REST, gRPC and
# dashboard URLs, the node answers there from the PostgreSQL it started, the Redis REST API
# goes to the shared redis-server, and SIGINT stops every process it started and removes its
# temp dirs.
set -euo pipefail
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp)
PID=""
cleanup() {
  [ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -f "$OUT"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$OUT"; exit 1; }

# A background job starts with SIGINT ignored; give the script the default, as a terminal's
# Ctrl-C finds it.
STRATUS_BIN=$BIN /usr/bin/python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("bash", ["bash"] + sys.argv[1:])' \
  "$ROOT/scripts/cluster.sh" 1 --no-task-log >"$OUT" 2>&1 &
PID=$!
for _ in $(seq 1 600); do grep -q '^cluster: Ctrl-C stops everything' "$OUT" && break; sleep 0.1; done
grep -q '^cluster: Ctrl-C stops everything' "$OUT" || fail "the cluster did not come up"
REST=$(sed -n 's/^  REST *\(http[^ ]*\)$/\1/p' "$OUT")
KV=$(sed -n 's/^  Redis REST *\(http[^ ]*\) (token \(.*\))$/\1/p' "$OUT")
TOKEN=$(sed -n 's/^  Redis REST .* (token \(.*\))$/\1/p' "$OUT")
grep -q '^  gRPC ' "$OUT" || fail "no gRPC URL printed"
grep -q "^  dashboard  $REST/ui/$" "$OUT" || fail "no dashboard URL printed"
NODE_LOG=$(sed -n 's/^node 1 (pid [0-9]*, log \(.*\)):$/\1/p' "$OUT")
grep -q 'and PostgreSQL\|PostgreSQL' "$NODE_LOG" || fail "the node does not say it runs on PostgreSQL"

curl -fsS -H 'Host: localhost' -H 'Content-Type: application/json' -X POST \
  "$REST/v2/projects/p/locations/us-central1/queues" -d '{"name":"projects/p/locations/us-central1/queues/c"}' >/dev/null ||
  fail "creating a queue on the node failed"
curl -fsS -H 'Host: localhost' "$REST/v2/projects/p/locations/us-central1/queues/c" | grep -q '"state":"RUNNING"' ||
  fail "the queue does not read back"
[ "$(curl -fsS -H 'Host: localhost' -H "Authorization: Bearer $TOKEN" -X POST "$KV" -d '["SET","k","v"]')" = '{"result":"OK"}' ] ||
  fail "the Redis REST API did not answer SET"

PG_DIR=$(sed -n "s/^cluster: PostgreSQL: psql 'host=\([^ ]*\) .*/\1/p" "$OUT")
TMP_DIR=$(dirname "$NODE_LOG")
[ -d "$PG_DIR" ] && [ -d "$TMP_DIR" ] || fail "temp dirs not found"
kill -INT "$PID"
wait "$PID" || fail "the cluster did not exit 0 on SIGINT"
PID=""
[ ! -e "$PG_DIR" ] || fail "PostgreSQL's dir $PG_DIR is still there"
[ ! -e "$TMP_DIR" ] || fail "the cluster's dir $TMP_DIR is still there"
curl -fsS -m 2 -H 'Host: localhost' "$REST/readyz" >/dev/null 2>&1 && fail "the node still answers after SIGINT"
echo "ok: cluster_script_test"
