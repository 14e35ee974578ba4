#!/usr/bin/env bash
# Runs the official @upstash/redis test suite (upstash/redis-js, packages/redis/pkg/**/*.test.ts,
# written for Bun) under Node 20 against a real stratus: the embedded engine, and the proxy to a
# real redis-server. Nothing of redis-js is copied into stratus: it is read from the checkout
# given, into a temporary directory.
#
#   tools/upstash-suite/run.sh <redis-js checkout or git dir> [embedded|proxy|both] [file-regex]
#
# Env: STRATUS_BIN (default build/src/cli/stratus), OUT (per-file TAP output; default a temp dir),
#      JOBS_TIMEOUT (seconds one file may take; default 180).
# Prints one line per file (PASS/FAIL, passed/total) and the totals per backend.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SRC=${1:?usage: run.sh <redis-js checkout> [embedded|proxy|both] [file-regex]}
MODES=${2:-both}
FILTER=${3:-.}
[ "$MODES" = both ] && MODES="embedded proxy"
BIN=${STRATUS_BIN:-$ROOT/build/src/cli/stratus}
FILE_TIMEOUT=${FILE_TIMEOUT:-180}
[ -x "$BIN" ] || { echo "no stratus binary at $BIN (build it, or set STRATUS_BIN)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/upstash-suite.XXXXXX)
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT" "$WORK/src"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK/src" "$WORK/node_modules" "$WORK"/data-*
}
trap cleanup EXIT

# The suite's tree: from a git directory (bare or not) by archive, else copied.
if git -C "$SRC" rev-parse HEAD >/dev/null 2>&1; then
  COMMIT=$(git -C "$SRC" rev-parse HEAD)
  git -C "$SRC" archive HEAD packages/redis | tar -x -C "$WORK/src"
else
  COMMIT=unknown
  mkdir -p "$WORK/src/packages" && cp -r "$SRC/packages/redis" "$WORK/src/packages/"
fi
echo "redis-js commit: $COMMIT"
# Bun runs the .ts files as ES modules; tell Node (and tsx) the same, in the temporary copy.
node -e 'const f=process.argv[1],p=JSON.parse(require("fs").readFileSync(f));p.type="module";require("fs").writeFileSync(f,JSON.stringify(p,null,2))' \
  "$WORK/src/packages/redis/package.json"

# What the suite needs under Node: a TypeScript loader, a matcher library, the client's one
# runtime dependency.
(cd "$WORK" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error \
  tsx@4 expect@30 uncrypto@0.1.3 >/dev/null)
cp "$HERE"/bun-test.mjs "$HERE"/bun.mjs "$HERE"/register.mjs "$WORK/"

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# Starts stratus with extra args; sets URL and TOKEN from its banner.
start_stratus() {  # name, args...
  local name=$1; shift
  local log=$WORK/$name.log
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data-$name" "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 150); do
    grep -qx 'stratus: ready' "$log" && break
    sleep 0.1
  done
  grep -qx 'stratus: ready' "$log" || { cat "$log"; echo "stratus did not start" >&2; exit 1; }
  URL=$(sed -n 's/^stratus: Redis REST API on \(http[^ ]*\).*/\1/p' "$log" | head -1)
  TOKEN=$(sed -n 's/^stratus: Redis REST token: \([^ ]*\).*/\1/p' "$log" | head -1)
}

start_redis() {
  local port; port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  REDIS_PORT=$port
}

# Test names excluded for one file (newline-separated), or "*" for the whole file.
excluded() {  # relative file
  awk -F'\t' -v f="$1" '!/^#/ && $1 == f { print $2 }' "$HERE/excluded.txt"
}

cd "$WORK/src/packages/redis"
mapfile -t FILES < <(find pkg -name '*.test.ts' | sort | grep -E "$FILTER")

for mode in $MODES; do
  case $mode in
    embedded) start_stratus embedded ;;
    proxy) start_redis; start_stratus proxy --redis-url "redis://127.0.0.1:$REDIS_PORT" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  mkdir -p "$OUT/$mode"
  pass=0 fail=0 skip=0 files_ok=0 files_bad=0 files_skipped=0
  for f in "${FILES[@]}"; do
    rel=${f#pkg/}
    ex=$(excluded "$rel")
    if [ "$ex" = "*" ]; then
      echo "$mode SKIP $rel (excluded)"; files_skipped=$((files_skipped + 1)); continue
    fi
    tap=$OUT/$mode/${rel//\//__}.tap
    UPSTASH_REDIS_REST_URL=$URL UPSTASH_REDIS_REST_TOKEN=$TOKEN UPSTASH_DISABLE_TELEMETRY=1 \
      SUITE_SKIP_NAMES="$ex" timeout "$FILE_TIMEOUT" \
      node --import "$WORK/node_modules/tsx/dist/esm/index.mjs" --import "$WORK/register.mjs" \
      --test --test-reporter=tap --test-concurrency=1 "$f" >"$tap" 2>&1 || true
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
    x=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
    c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -1)
    s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -1)
    p=${p:-0} x=$(( ${x:-0} + ${c:-0} )) s=${s:-0}
    [ -z "$(sed -n 's/^# tests \([0-9]*\)$/\1/p' "$tap")" ] && x=$((x + 1))  # did not finish
    pass=$((pass + p)) fail=$((fail + x)) skip=$((skip + s))
    if [ "$x" -eq 0 ]; then files_ok=$((files_ok + 1)); st=PASS; else files_bad=$((files_bad + 1)); st=FAIL; fi
    echo "$mode $st $rel ($p/$((p + x)))"
  done
  echo "$mode TOTAL: $pass passed, $fail failed, $skip skipped by name; files $files_ok passed, $files_bad failed, $files_skipped excluded (redis-js $COMMIT)"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
done
echo "TAP output per file: $OUT"
