#!/usr/bin/env bash
# Runs the npm-client compatibility tests (tests/compat/node/*.test.mjs) against the binary.
set -euo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/node"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
STRATUS_BIN="$BIN" node --test --test-concurrency=1 ./*.test.mjs
