#!/usr/bin/env bash
# Runs the dashboard tests (tests/compat/ui/*.test.mjs): the /ui/ pages in Debian's chromium,
# headless, driven by puppeteer-core (which downloads no browser).
set -euo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/ui"
# Installs again when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
STRATUS_BIN="$BIN" node --test --test-concurrency=1 ./*.test.mjs
