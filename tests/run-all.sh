#!/usr/bin/env bash
# The test suite: every Rust test in the workspace, then the official
# Python client against the server binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
# the binary the Python test drives, built with the same package selection
# as the tests above so nothing is rebuilt for other features
cargo build --workspace --bins
bash tests/python/run.sh
