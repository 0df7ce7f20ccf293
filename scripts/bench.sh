#!/usr/bin/env bash
# `make bench`: API calls and wall times of nc-provision on the local AWS, printed as tables:
# per environment, by availability zones, and the scale series (stg grown to about 120, 500 and
# 1,000 resources: calls per resource, wall time, peak memory). A fresh account (and a private
# moto) per scenario keeps runs independent; nothing here is a pass/fail test.
# Usage: scripts/bench.sh              everything (the scale series takes a few minutes)
#        scripts/bench.sh stg|dev|prod one environment's row and the zones table
#        scripts/bench.sh scale [N...] only the scale series (sizes in resources)
set -euo pipefail
cd "$(dirname "$0")/.."

./localstack/start.sh >/dev/null
cargo build --locked --quiet
cargo bench --locked --profile dev --bench calls -- "$@"
