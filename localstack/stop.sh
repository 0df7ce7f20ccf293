#!/usr/bin/env bash
# Stop the emulators start.sh started from this run dir ($NC_EMU_RUN), and only those.
# Usage: stop.sh [all|localstack|moto]   (default: all). Idempotent: nothing running is not an error.
#
# What gets signalled, and nothing else:
#   - the PID in the pid file, if it still has the recorded start time (so never a reused PID);
#   - its descendants, found in /proc before it is stopped: DynamoDB Local's JVM runs in its own
#     session as LocalStack's child, and LocalStack restarts it if it dies first, so LocalStack is
#     stopped first and the JVM after;
#   - stray processes carrying this run's start.sh marker in their environment (a JVM orphaned by a
#     LocalStack that crashed). Never by name.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what="${1:-all}"
case "$what" in all | localstack | moto) ;; *) die "usage: $0 [all|localstack|moto]" ;; esac

# Seconds between SIGTERM and SIGKILL. reset.sh uses 0: the data is being wiped anyway.
STOP_GRACE="${NC_EMU_STOP_GRACE:-10}"

# terminate LABEL "PID START"...: SIGTERM each (if still the same process), wait up to STOP_GRACE
# seconds for all to exit, then SIGKILL the rest.
terminate() {
    local label="$1" entry pid start
    shift
    (($#)) || return 0
    for entry in "$@"; do
        read -r pid start <<<"$entry"
        if proc_is "$pid" "$start"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    local deadline=$((SECONDS + STOP_GRACE)) alive
    while :; do
        alive=()
        for entry in "$@"; do
            read -r pid start <<<"$entry"
            if proc_is "$pid" "$start"; then alive+=("$pid"); fi
        done
        ((${#alive[@]})) || return 0
        ((SECONDS < deadline)) || break
        sleep 0.1
    done
    ((STOP_GRACE == 0)) || log "$label: still running after $STOP_GRACE s, sending SIGKILL to ${alive[*]}"
    for entry in "$@"; do
        read -r pid start <<<"$entry"
        if proc_is "$pid" "$start"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    # SIGKILL cannot be ignored; give the kernel a moment to tear the processes down.
    for _ in $(seq 50); do
        alive=()
        for entry in "$@"; do
            read -r pid start <<<"$entry"
            if proc_is "$pid" "$start"; then alive+=("$pid"); fi
        done
        ((${#alive[@]})) || return 0
        sleep 0.1
    done
    log "$label: could not stop ${alive[*]}"
    return 1
}

# stop_component NAME PIDFILE
stop_component() {
    local name="$1" pidfile="$2" main rest=() entry
    main="$(pidfile_live "$pidfile")"
    if [[ -n "$main" ]]; then
        # Descendants first, while the parent links still exist.
        while IFS= read -r entry; do rest+=("$entry"); done < <(proc_descendants "${main%% *}")
        log "$name: stopping pid ${main%% *}${rest:+ and ${#rest[@]} child process(es)}"
        terminate "$name" "$main"
    fi
    # Then children left behind, and any stray with this run's marker (including ones a crashed or
    # killed parent left, or a child that was restarted while the parent shut down).
    while IFS= read -r entry; do
        [[ "$entry" == "$main" ]] || rest+=("$entry")
    done < <(proc_with_marker "$name:$NC_EMU_RUN")
    if ((${#rest[@]})); then
        [[ -n "$main" ]] || log "$name: stopping ${#rest[@]} stray process(es) from this run dir"
        terminate "$name" "${rest[@]}"
    fi
    [[ -n "$main" || ${#rest[@]} -gt 0 ]] || log "$name: not running"
    rm -f "$pidfile"
}

status=0
if [[ "$what" == all || "$what" == localstack ]]; then stop_component localstack "$LS_PIDFILE" || status=1; fi
if [[ "$what" == all || "$what" == moto ]]; then stop_component moto "$MOTO_PIDFILE" || status=1; fi
exit "$status"
