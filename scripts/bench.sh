#!/usr/bin/env bash
# `make bench`: API calls and wall times of nc-provision on the local AWS, printed as a table.
# A fresh account per scenario keeps runs independent; nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

./localstack/start.sh >/dev/null
cargo build --locked --quiet
cargo bench --locked --profile dev --bench calls -- "$@"
