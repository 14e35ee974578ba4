#!/usr/bin/env bash
# Runs the npm-client compatibility tests (tests/compat/node/*.test.mjs) against the binary.
set -euo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/node"
# Installs again when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
STRATUS_BIN="$BIN" node --test --test-concurrency=1 ./*.test.mjs
