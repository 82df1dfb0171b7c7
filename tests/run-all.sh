#!/usr/bin/env bash
# The test suite: every Rust test in the workspace, then the official
# Python client (gRPC and REST) and the official JS client (REST) against
# the server binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash tests/python/run.sh
bash tests/node/run.sh
