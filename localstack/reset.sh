#!/usr/bin/env bash
# Give the emulators a clean slate: stop LocalStack, wipe its data dir (the installed DynamoDB Local
# and JDK in $NC_EMU_HOME are only linked from it, so they stay), reset moto in place through its
# API (POST /moto-api/reset, ~0.02 s), then start whatever is not running.
# LocalStack has no reset endpoint; a restart with a fresh data dir takes ~2-3 s. For isolation
# between tests without restarts, use a distinct 12-digit AWS_ACCESS_KEY_ID per test instead
# (LocalStack keeps accounts apart; see README.md).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(now_us)
NC_EMU_STOP_GRACE=0 "$NC_LS_DIR/stop.sh" localstack
rm -rf "$LS_DATA"
log "localstack: data dir wiped ($LS_DATA)"
if [[ -n "$(pidfile_live "$MOTO_PIDFILE")" ]] && moto_healthy; then
    curl -fsS -o /dev/null --max-time 10 -X POST "$MOTO_URL/moto-api/reset"
    log "moto: reset"
fi
"$NC_LS_DIR/start.sh" all
log "reset done in $(since "$t0")"
