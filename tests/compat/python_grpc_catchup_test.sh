#!/usr/bin/env bash
# The CatchUp worker's queues applied over gRPC (examples/catchup/queues.yaml through
# UpdateQueue with Debian's python3-grpcio and the stubs of build/proto_py), then the demo as
# `./x demo` runs it: the reference worker, every job type enqueued through the SDK (REST),
# delivered, retried and dead-lettered exactly as with queues applied by the CLI
# (compat.demo_test checks the same outcomes).
set -euo pipefail
BIN=$(realpath "$1")
BUILD=$(dirname "$(dirname "$(dirname "$BIN")")")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STUBS=${STRATUS_PY_STUBS:-$BUILD/proto_py}
EX=$BUILD/examples/catchup
PY=/usr/bin/python3
DATA=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_line() {  # file, pattern, what
  for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1"; fail "$3 did not start"
}

"$PY" -c 'import grpc, google.protobuf, yaml' 2>/dev/null || fail "python3-grpcio, python3-protobuf or python3-yaml missing"
[ -f "$STUBS/google/cloud/tasks/v2/cloudtasks_pb2_grpc.py" ] || fail "no generated stubs in $STUBS (build python_grpc_stubs)"
for f in "$EX/catchup-worker" "$EX/catchup-demo"; do [ -x "$f" ] || fail "$f is missing (build the catchup examples)"; done

"$BIN" serve --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --redis-listen 127.0.0.1:0 --redis-token demo-token \
  --data-dir "$DATA/db" --no-task-log >"$DATA/serve.out" 2>&1 &
pids+=($!)
wait_line "$DATA/serve.out" '^stratus: ready' "stratus"
API=$(sed -n 's/^stratus: Cloud Tasks v2 API on \(http[^ ]*\).*/\1/p' "$DATA/serve.out" | head -1)
REDIS=$(sed -n 's/^stratus: Redis REST API on \(http[^ ]*\).*/\1/p' "$DATA/serve.out" | head -1)
GRPC=$(sed -n 's/^stratus: .*gRPC.* on \([^ ]*\).*/\1/p' "$DATA/serve.out" | head -1)
GRPC=${GRPC#http://}
[ -n "$API" ] && [ -n "$REDIS" ] && [ -n "$GRPC" ] || { cat "$DATA/serve.out"; fail "addresses missing from the banner"; }

OUT="$DATA/out"
"$PY" "$ROOT/tests/compat/python/apply_queues_grpc.py" "$STUBS" "$GRPC" "$API" "$ROOT/examples/catchup/queues.yaml" \
  >"$OUT" || { cat "$OUT"; fail "applying queues.yaml over gRPC"; }

WORKER_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$EX/catchup-worker" --port "$WORKER_PORT" --issuer "$API" --redis-url "$REDIS" --redis-token demo-token \
  >"$DATA/worker.out" 2>"$DATA/worker.log" &
pids+=($!)
wait_line "$DATA/worker.out" "catchup-worker: jobs on" "the worker"
timeout 180 "$EX/catchup-demo" --server "$API" --service-url "http://127.0.0.1:$WORKER_PORT" --redis-url "$REDIS" \
  --redis-token demo-token >>"$OUT" 2>&1 || { cat "$OUT"; fail "the demo did not finish"; }
curl -s "$API/stratus/v1/projects/catchup-local/locations/us-central1/queues/calendar-sync-queue/deadLetters" >>"$OUT"
echo >>"$OUT"

bad=0
check() {  # description, grep pattern, expected count
  local n; n=$(grep -c -E "$2" "$OUT" || true)
  if [ "$n" -eq "$3" ]; then echo "PASS $1"; else echo "FAIL $1: $n lines match /$2/, want $3"; bad=1; fi
}
check "eleven queues applied over gRPC" '^applied projects/catchup-local/locations/us-central1/queues/' 11
check "each read back over REST as the file says" '^MISMATCH' 0
check "thirteen jobs enqueued" '^enqueued ' 13
check "every job type done on its first attempt" '^  [a-z-]+ \[[a-z-]+-queue\]: done on attempt 1:' 11
check "the scripted 503 retried once, then done" '^  adaptive-sync \(first attempt gets a 503\).*done on attempt 2' 1
check "the bad payload failed permanently" '^  calendar-sync \(no userId\).*FAILED permanently' 1
check "and was dead-lettered" '"reason":"permanent failure status 422"' 1
check "nothing left pending" 'still pending' 0
[ "$bad" -eq 0 ] || { cat "$OUT"; exit 1; }
