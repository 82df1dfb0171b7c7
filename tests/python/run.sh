#!/usr/bin/env bash
# Drives `vicinity serve --memory` with the official Python client
# (qdrant-client 1.20.0, over gRPC and REST) and LangChain's integration
# (langchain-qdrant). Makes a venv under
# target/pyvenv, installs the client and pytest, and runs
# the tests in tests/python, whose conftest starts and stops the server.
# The server binary: $VICINITY_BIN (e.g. target/release/vicinity), else
# target/debug/vicinity, brought up to date here (with the same package
# selection as `cargo test --workspace`, so nothing else is rebuilt).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/pyvenv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
installed() {
  "$venv/bin/python" -c 'import importlib.metadata as m, pytest, langchain_qdrant; print(m.version("qdrant-client"))' 2>/dev/null
}
if [ "$(installed)" != "1.20.0" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
if [ -z "${VICINITY_BIN:-}" ]; then
  cargo build --workspace --bins
  VICINITY_BIN=target/debug/vicinity
fi
case "$VICINITY_BIN" in /*) ;; *) VICINITY_BIN="$PWD/$VICINITY_BIN" ;; esac
export VICINITY_BIN
exec "$venv/bin/python" -m pytest -q tests/python "$@"
