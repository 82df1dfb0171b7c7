#!/usr/bin/env bash
# The Python side of the test suite, in a venv under target/pyvenv:
# 1. the official Python client (qdrant-client 1.20.0, over gRPC and REST)
#    and LangChain's integration (langchain-qdrant) against
#    `vicinity serve --memory` (tests/python, whose conftest starts and
#    stops the server binary);
# 2. the Python package `vicinity-db` (python/): its wheel is built here
#    with maturin, installed into the venv as a user would pip-install it,
#    and python/tests drive its in-process server, pytest fixtures,
#    `vicinity` command and numpy engine.
# The server binary: $VICINITY_BIN (e.g. target/release/vicinity), else
# target/debug/vicinity, brought up to date here (with the same package
# selection as `cargo test --workspace`, so nothing else is rebuilt).
# VICINITY_WHEEL_PROFILE picks the wheel's cargo profile (default `dev`,
# which reuses `cargo test`'s dependencies; `release` for a real wheel).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/pyvenv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
installed() {
  "$venv/bin/python" -c 'import importlib.metadata as m, pytest, langchain_qdrant, numpy; print(m.version("qdrant-client"), m.version("maturin"))' 2>/dev/null
}
if [ "$(installed)" != "1.20.0 1.16.0" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
if [ -z "${VICINITY_BIN:-}" ]; then
  cargo build --workspace --bins
  VICINITY_BIN=target/debug/vicinity
fi
case "$VICINITY_BIN" in /*) ;; *) VICINITY_BIN="$PWD/$VICINITY_BIN" ;; esac
export VICINITY_BIN

# the package, as pip would install it from the wheel
rm -rf target/wheels
"$venv/bin/maturin" build --quiet --profile "${VICINITY_WHEEL_PROFILE:-dev}" \
  --manifest-path python/Cargo.toml --interpreter "$venv/bin/python" --out target/wheels
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/vicinity_db-*.whl

exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -c tests/python/pytest.ini --rootdir . \
  tests/python python/tests "$@"
