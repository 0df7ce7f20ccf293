#!/usr/bin/env bash
# The project's test command: install (no-op when installed) and start a fresh local AWS, run
# every unit and integration test against it, and stop exactly what was started.
set -euo pipefail
cd "$(dirname "$0")/.."

./localstack/install.sh
./localstack/reset.sh            # fresh LocalStack data dir, moto reset, started and healthy
trap './localstack/stop.sh >/dev/null 2>&1 || true' EXIT

export NC_TEST_ENDPOINT="http://127.0.0.1:${NC_LOCALSTACK_PORT:-4566}"
export NC_TEST_MOTO_ENDPOINT="http://127.0.0.1:${NC_MOTO_PORT:-4567}"
cargo test --locked "$@"
