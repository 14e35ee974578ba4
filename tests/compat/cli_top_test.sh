#!/usr/bin/env bash
# `stratus top` in a real terminal (tmux): the table shows a paused queue's depth, follows it
# when more tasks are created, and `q` ends it with the terminal given back (exit status 0).
set -euo pipefail
BIN=$(realpath "$1")
DATA=$(mktemp -d)
SOCK="stratus-cli-top-$$"  # our own tmux server: nothing of anyone else's is touched
OUT="$DATA/serve.out"
SERVER_PID=""
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- pane:"; tmux -L "$SOCK" capture-pane -p -t top 2>/dev/null || true; exit 1; }

"$BIN" serve --listen 127.0.0.1:0 --redis-listen off --grpc-listen off --data-dir "$DATA/db" --no-task-log >"$OUT" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do grep -q '^stratus: ready' "$OUT" && break; sleep 0.1; done
grep -q '^stratus: ready' "$OUT" || { cat "$OUT"; fail "the server did not start"; }
URL=$(sed -n 's/^stratus: Cloud Tasks v2 API on \(http[^ ]*\).*/\1/p' "$OUT" | head -1)
[ -n "$URL" ] || fail "no API URL in the banner"
export STRATUS_SERVER=$URL STRATUS_PROJECT=top-test
unset STRATUS_TOKEN CLOUDSDK_CORE_PROJECT

"$BIN" queues create depthq >/dev/null
"$BIN" queues pause depthq >/dev/null
for i in 1 2 3; do "$BIN" tasks create --queue depthq --url http://127.0.0.1:9/x >/dev/null; done

# The row of depthq in the pane, e.g. "depthq  PAUSED  3  0  0/s ...".
row() { tmux -L "$SOCK" capture-pane -p -t top | grep -E '^depthq ' || true; }
wait_row() {  # pattern, what
  for _ in $(seq 1 150); do row | grep -qE "$1" && return 0; sleep 0.2; done
  fail "$2"
}

tmux -L "$SOCK" -f /dev/null new-session -d -s top -x 150 -y 30 \
  "$BIN top --interval 1; echo \$? > $DATA/top.rc"
tmux -L "$SOCK" set-option -t top remain-on-exit on >/dev/null

wait_row '^depthq +PAUSED +3 ' "the table never showed depth 3"
echo "PASS top shows the paused queue with depth 3"
tmux -L "$SOCK" capture-pane -p -t top | grep -q 'DISPATCH/S' || fail "no column header"
tmux -L "$SOCK" capture-pane -p -t top | grep -q '(q quits)' || fail "no header line"

for i in 1 2 3 4; do "$BIN" tasks create --queue depthq --url http://127.0.0.1:9/x >/dev/null; done
wait_row '^depthq +PAUSED +7 ' "the depth did not follow to 7"
echo "PASS the depth follows new tasks (3 -> 7) in place"

tmux -L "$SOCK" send-keys -t top q
# top's exit status, written by the pane's shell once top has ended.
for _ in $(seq 1 100); do [ -s "$DATA/top.rc" ] && break; sleep 0.1; done
[ -s "$DATA/top.rc" ] || fail "q did not end top"
status=$(cat "$DATA/top.rc")
[ "$status" = 0 ] || fail "top exited with $status"
for _ in $(seq 1 50); do [ "$(tmux -L "$SOCK" display-message -p -t top '#{pane_dead}')" = 1 ] && break; sleep 0.1; done
[ "$(tmux -L "$SOCK" display-message -p -t top '#{pane_dead}')" = 1 ] || fail "the pane's process did not end"
# The alternate screen is left: the table is gone from the pane.
tmux -L "$SOCK" capture-pane -p -t top | grep -q 'DISPATCH/S' && fail "the table is still on the screen after q"
echo "PASS q quits with status 0 and the screen restored"
echo "3 passed, 0 failed"
