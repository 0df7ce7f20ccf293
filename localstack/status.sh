#!/usr/bin/env bash
# Report whether the emulators of this run dir are running and healthy.
# Exit status: 0 if both are healthy, 1 otherwise.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ok=0
# report NAME PIDFILE URL HEALTH_FUNCTION
report() {
    local live health
    live="$(pidfile_live "$2")"
    if "$4"; then health=healthy; else health="not answering"; ok=1; fi
    if [[ -n "$live" ]]; then
        printf '%-10s pid %-7s %s  %s\n' "$1" "${live%% *}" "$3" "$health"
    else
        printf '%-10s %-11s %s  %s\n' "$1" "stopped" "$3" \
            "$([[ $health == healthy ]] && echo 'answering, but not started from this run dir' || echo '-')"
        ok=1
    fi
}
report localstack "$LS_PIDFILE" "$LS_URL" localstack_healthy
report moto "$MOTO_PIDFILE" "$MOTO_URL" moto_healthy
printf 'installed: %s\nrun dir:   %s\n' "$NC_EMU_HOME" "$NC_EMU_RUN"
exit "$ok"
