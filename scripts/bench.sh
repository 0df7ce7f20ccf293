#!/usr/bin/env bash
# `make bench`: API calls and wall times of nc-provision on the local AWS, printed as tables:
# per environment (calls checked against the callcount proxy), by availability zones, and the
# scale series (stg grown to about 120, 500 and 1,000 resources: calls per resource, wall time,
# peak memory). A fresh account (and a private moto) per scenario keeps runs independent;
# nothing here is a pass/fail test.
# Usage: scripts/bench.sh              everything (the scale series takes a few minutes)
#        scripts/bench.sh stg|dev|prod one environment's row and the zones table
#        scripts/bench.sh stg prod     those rows only (add `zones` for the zones table)
#        scripts/bench.sh scale [N...] only the scale series (sizes in resources)
# Emulators: by default this starts the local AWS of this clone (localstack/start.sh, on
# NC_LOCALSTACK_PORT / NC_MOTO_PORT, 4566 / 4567 unless set). With NC_TEST_ENDPOINT (and
# NC_TEST_MOTO_ENDPOINT) set it starts nothing and measures against the emulators already
# running there: the bench only adds fresh accounts and its own moto per scenario (the shared
# moto is used only when none is installed), and deletes its scale buckets afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${NC_TEST_ENDPOINT:-}" ]]; then
    ./localstack/start.sh >/dev/null
    export NC_TEST_ENDPOINT="http://127.0.0.1:${NC_LOCALSTACK_PORT:-4566}"
    export NC_TEST_MOTO_ENDPOINT="http://127.0.0.1:${NC_MOTO_PORT:-4567}"
fi
cargo build --locked --quiet
cargo bench --locked --profile dev --bench calls -- "$@"
