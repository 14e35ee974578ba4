#!/usr/bin/env bash
# The SDK as an app would use it: install the build tree to a prefix, then configure and
# build examples/catchup on its own with find_package(stratus), and run the worker it built.
set -euo pipefail
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
test -f "$WORK/prefix/lib/cmake/stratus/stratusConfig.cmake"
test -f "$WORK/prefix/include/stratus/sdk/task_queue.h"
cmake -S "$SRC/examples/catchup" -B "$WORK/app" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$WORK/app" >/dev/null
# The worker built against the package starts, and refuses a bad flag with its usage.
if "$WORK/app/catchup-worker" --no-such-flag x 2>"$WORK/err"; then
  echo "FAIL: catchup-worker accepted an unknown flag"; exit 1
fi
grep -q -- "--issuer" "$WORK/err" || { echo "FAIL: no usage from catchup-worker"; cat "$WORK/err"; exit 1; }
echo "PASS: examples/catchup builds from the installed package (find_package(stratus))"
