#!/usr/bin/env bash
# Drives `vicinity serve --memory` with the official JS/TS client
# (@qdrant/js-client-rest, pinned in tests/node/package.json), installed
# from the npm registry into target/nodeclient, with Node's own test runner.
# The server binary: $VICINITY_BIN, else target/debug/vicinity (built here).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v node >/dev/null || { echo "tests/node: node is not installed" >&2; exit 1; }
dir=target/nodeclient
mkdir -p "$dir"
cp tests/node/package.json tests/node/test_client.mjs "$dir/"
if [ ! -f "$dir/node_modules/@qdrant/js-client-rest/package.json" ] ||
   ! grep -q '"version": "1.20.0"' "$dir/node_modules/@qdrant/js-client-rest/package.json"; then
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --engine-strict=false)
fi
if [ -z "${VICINITY_BIN:-}" ]; then
  cargo build --workspace --bins
  VICINITY_BIN=target/debug/vicinity
fi
case "$VICINITY_BIN" in /*) ;; *) VICINITY_BIN="$PWD/$VICINITY_BIN" ;; esac
export VICINITY_BIN
exec node --test "$dir/test_client.mjs"
