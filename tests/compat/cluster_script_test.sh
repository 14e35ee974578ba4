#!/usr/bin/env bash
# `./x cluster 2` (scripts/cluster.sh) end to end: it prints every node's REST, gRPC and
# dashboard URLs, both nodes answer there from the PostgreSQL it started (a task created
# through node 1 is visible through node 2 and delivered), the Redis REST API of both goes to
# the shared redis-server, and SIGINT stops every process it started and removes its temp dirs.
set -euo pipefail
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp)
PID=""
TARGET=""
WWW=$(mktemp -d)
cleanup() {
  [ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ -n "$TARGET" ] && kill "$TARGET" 2>/dev/null && wait "$TARGET" 2>/dev/null || true
  rm -rf "$OUT" "$WWW"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$OUT"; exit 1; }

# A background job starts with SIGINT ignored; give the script the default, as a terminal's
# Ctrl-C finds it.
STRATUS_BIN=$BIN /usr/bin/python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("bash", ["bash"] + sys.argv[1:])' \
  "$ROOT/scripts/cluster.sh" 2 --no-task-log >"$OUT" 2>&1 &
PID=$!
for _ in $(seq 1 600); do grep -q '^cluster: Ctrl-C stops everything' "$OUT" && break; sleep 0.1; done
grep -q '^cluster: Ctrl-C stops everything' "$OUT" || fail "the cluster did not come up"
mapfile -t REST < <(sed -n 's/^  REST *\(http[^ ]*\)$/\1/p' "$OUT")
mapfile -t KV < <(sed -n 's/^  Redis REST *\(http[^ ]*\) (token \(.*\))$/\1/p' "$OUT")
TOKEN=$(sed -n 's/^  Redis REST .* (token \(.*\))$/\1/p' "$OUT" | head -n1)
[ "${#REST[@]}" -eq 2 ] || fail "not 2 REST URLs printed"
[ "${#KV[@]}" -eq 2 ] || fail "not 2 Redis REST URLs printed"
[ "${REST[0]}" != "${REST[1]}" ] || fail "both nodes printed one URL"
[ "$(grep -c '^  gRPC ' "$OUT")" -eq 2 ] || fail "not 2 gRPC URLs printed"
for rest in "${REST[@]}"; do grep -q "^  dashboard  $rest/ui/$" "$OUT" || fail "no dashboard URL printed for $rest"; done
NODE_LOG=$(sed -n 's/^node 1 (pid [0-9]*, log \(.*\)):$/\1/p' "$OUT")
grep -q 'PostgreSQL' "$NODE_LOG" || fail "the node does not say it runs on PostgreSQL"

LOC=/v2/projects/p/locations/us-central1
Q=projects/p/locations/us-central1/queues/c
api() { curl -fsS -H 'Host: localhost' -H 'Content-Type: application/json' "$@"; }
api -X POST "${REST[0]}$LOC/queues" -d "{\"name\":\"$Q\"}" >/dev/null || fail "creating a queue on node 1 failed"
api "${REST[1]}$LOC/queues/c" | grep -q '"state":"RUNNING"' || fail "the queue does not read back through node 2"

# A task created through node 1, due in 3 s: visible through node 2, then delivered (by
# whichever node holds the queue) and gone from node 2's view.
echo hit >"$WWW/hit"
/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$WWW" >"$WWW/target.log" 2>&1 &
TARGET=$!
for _ in $(seq 1 100); do TPORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WWW/target.log" | head -n1); [ -n "$TPORT" ] && break; sleep 0.1; done
[ -n "$TPORT" ] || fail "the target did not start"
DUE=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
api -X POST "${REST[0]}$LOC/queues/c/tasks" -d "{\"task\":{\"name\":\"$Q/tasks/t1\",\"scheduleTime\":\"$DUE\",\"httpRequest\":{\"httpMethod\":\"GET\",\"url\":\"http://127.0.0.1:$TPORT/hit?task=t1\"}}}" >/dev/null ||
  fail "creating a task on node 1 failed"
api "${REST[1]}$LOC/queues/c/tasks/t1" | grep -q "\"name\":\"$Q/tasks/t1\"" || fail "the task is not visible through node 2"
api "${REST[1]}$LOC/queues/c/tasks" | grep -q "$Q/tasks/t1" || fail "the task is not listed by node 2"
for _ in $(seq 1 300); do grep -q 'GET /hit?task=t1 HTTP/1.1" 200' "$WWW/target.log" && break; sleep 0.1; done
grep -q 'GET /hit?task=t1 HTTP/1.1" 200' "$WWW/target.log" || fail "the task was not delivered: $(cat "$WWW/target.log")"
gone=""
for _ in $(seq 1 100); do
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Host: localhost' "${REST[1]}$LOC/queues/c/tasks/t1")" = 404 ] && gone=1 && break
  sleep 0.1
done
[ -n "$gone" ] || fail "the delivered task is still there through node 2"
for rest in "${REST[@]}"; do
  n=$(curl -fsS -H 'Host: localhost' "$rest/metrics" | awk '/^stratus_api_requests_total/ {s += $NF} END {print s + 0}')
  [ "${n%.*}" -gt 0 ] || fail "node $rest counted no API request"
done

# One Redis for both: what node 1 sets, node 2 reads.
[ "$(curl -fsS -H 'Host: localhost' -H "Authorization: Bearer $TOKEN" -X POST "${KV[0]}" -d '["SET","k","v"]')" = '{"result":"OK"}' ] ||
  fail "the Redis REST API did not answer SET"
[ "$(curl -fsS -H 'Host: localhost' -H "Authorization: Bearer $TOKEN" -X POST "${KV[1]}" -d '["GET","k"]')" = '{"result":"v"}' ] ||
  fail "node 2's Redis REST API does not see node 1's SET"

PG_DIR=$(sed -n "s/^cluster: PostgreSQL: psql 'host=\([^ ]*\) .*/\1/p" "$OUT")
TMP_DIR=$(dirname "$NODE_LOG")
[ -d "$PG_DIR" ] && [ -d "$TMP_DIR" ] || fail "temp dirs not found"
kill -INT "$PID"
wait "$PID" || fail "the cluster did not exit 0 on SIGINT"
PID=""
[ ! -e "$PG_DIR" ] || fail "PostgreSQL's dir $PG_DIR is still there"
[ ! -e "$TMP_DIR" ] || fail "the cluster's dir $TMP_DIR is still there"
for rest in "${REST[@]}"; do
  curl -fsS -m 2 -H 'Host: localhost' "$rest/readyz" >/dev/null 2>&1 && fail "node $rest still answers after SIGINT"
done
echo "ok: cluster_script_test"
