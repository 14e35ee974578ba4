#!/usr/bin/env bash
# A second gRPC client beside the Node one: Debian's python3-grpcio (/usr/bin/python3; the
# pyenv python3 on PATH has no grpcio) with stubs generated at build time from proto/ by
# protoc + grpc_python_plugin (build/proto_py, target python_grpc_stubs). A missing interpreter
# module, stub or server fails the test: nothing here skips.
set -euo pipefail
BIN=$(realpath "$1")
STUBS=${STRATUS_PY_STUBS:-$(dirname "$BIN")/../../proto_py}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
DATA=$(mktemp -d)
OUT="$DATA/serve.out"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$PY" ] || fail "$PY is missing (apt-get install python3)"
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null || fail "python3-grpcio / python3-protobuf are not installed (scripts/install-deps.sh)"
[ -f "$STUBS/google/cloud/tasks/v2/cloudtasks_pb2_grpc.py" ] || fail "no generated stubs in $STUBS (build the python_grpc_stubs target)"
[ -f "$STUBS/stratus_reflection/reflection_pb2_grpc.py" ] || fail "no reflection stubs in $STUBS"

"$BIN" serve --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --redis-listen off --data-dir "$DATA/db" \
  --no-task-log >"$OUT" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do grep -q '^stratus: ready' "$OUT" && break; sleep 0.1; done
grep -q '^stratus: ready' "$OUT" || { cat "$OUT"; fail "the server did not start"; }
REST=$(sed -n 's/^stratus: Cloud Tasks v2 API on \(http[^ ]*\).*/\1/p' "$OUT" | head -1)
GRPC=$(sed -n 's/^stratus: .*gRPC.* on \([^ ]*\).*/\1/p' "$OUT" | head -1)
GRPC=${GRPC#grpc://}
GRPC=${GRPC#http://}
[ -n "$REST" ] || { cat "$OUT"; fail "no REST URL in the banner"; }
[ -n "$GRPC" ] || { cat "$OUT"; fail "no gRPC address in the banner"; }
"$PY" "$HERE/python/grpc_client_test.py" "$STUBS" "$GRPC" "$REST"
