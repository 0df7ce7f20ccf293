#!/usr/bin/env bash
# Start the local AWS emulators in the background and wait until they answer:
#   LocalStack  http://127.0.0.1:$NC_LOCALSTACK_PORT (4566)   health: GET /_localstack/health
#   moto        http://127.0.0.1:$NC_MOTO_PORT (4567)         health: GET /moto-api/config
# Usage: start.sh [all|localstack|moto]   (default: all)
# A component already running from this run dir (pid file with the same PID and start time) is
# left alone, so a second start.sh is a no-op. State, pid files and logs live in $NC_EMU_RUN
# (default <repo>/.localstack). Run install.sh first.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what="${1:-all}"
case "$what" in all | localstack | moto) ;; *) die "usage: $0 [all|localstack|moto]" ;; esac

[[ -x "$VENV_LOCALSTACK/bin/python" && -x "$VENV_MOTO/bin/moto_server" \
    && -f "$STATIC_LIBS/dynamodb-local/2/DynamoDBLocal.jar" ]] \
    || die "emulators not installed in $NC_EMU_HOME: run localstack/install.sh (make emulators-install)"
command -v curl >/dev/null || die "curl is needed for the health checks"

mkdir -p "$NC_EMU_RUN"

# The emulators must not see endpoint overrides meant for clients (LocalStack's own internal AWS
# clients would follow them), so every AWS_ENDPOINT_URL* variable is removed from their environment.
unset_endpoints=()
for v in $(compgen -e); do
    [[ "$v" == AWS_ENDPOINT_URL* ]] && unset_endpoints+=(-u "$v")
done

# On a failed start: say where the log is, show its end, and stop everything this call started
# (not what was already running before it).
started=()
fail() {
    local name="$1" logfile="$2" c
    log "$name: $3; log: $logfile"
    tail -n 20 "$logfile" 2>/dev/null | sed 's/^/    /' >&2 || true
    for c in "${started[@]}"; do "$NC_LS_DIR/stop.sh" "$c" || true; done
    exit 1
}

# launch NAME PIDFILE LOG CMD...: start CMD in its own session, detached from this shell, with the
# marker stop.sh uses to find strays, and record its PID and start time. setsid execs in place here
# (a background job of a non-interactive shell is not a group leader), so $! is the server's PID.
launch() {
    local name="$1" pidfile="$2" logfile="$3"
    shift 3
    setsid env "${unset_endpoints[@]}" NC_EMU_MARKER="$name:$NC_EMU_RUN" "$@" \
        </dev/null >"$logfile" 2>&1 &
    local pid=$!
    pidfile_write "$pidfile" "$pid" || fail "$name" "$logfile" "exited at once"
    started+=("$name")
    log "$name: started (pid $pid), log $logfile"
}

start_localstack() {
    if [[ -n "$(pidfile_live "$LS_PIDFILE")" ]]; then
        log "localstack: already running (pid $(cut -d' ' -f1 "$LS_PIDFILE"))"
        return 0
    fi
    rm -f "$LS_PIDFILE"
    port_in_use "$NC_LOCALSTACK_PORT" \
        && die "port $NC_LOCALSTACK_PORT is in use by a process this run dir did not start (set NC_LOCALSTACK_PORT)"

    # LocalStack's static-libs dir is <FILESYSTEM_ROOT>/usr/lib/localstack. Link the installed
    # DynamoDB Local and JDK into it entry by entry: a reset wipes LS_DATA but not NC_EMU_HOME, and
    # anything else LocalStack writes stays in this run's data dir.
    local libs="$LS_DATA/usr/lib/localstack"
    mkdir -p "$libs" "$LS_DATA/java-tmp" "$LS_DATA/s3-storage"
    ln -sfn "$STATIC_LIBS/dynamodb-local" "$libs/dynamodb-local"
    ln -sfn "$STATIC_LIBS/java" "$libs/java"

    launch localstack "$LS_PIDFILE" "$LS_LOG" \
        OVERRIDE_IN_DOCKER=0 \
        GATEWAY_SERVER=hypercorn \
        GATEWAY_LISTEN="127.0.0.1:$NC_LOCALSTACK_PORT" \
        DNS_ADDRESS=0 \
        FILESYSTEM_ROOT="$LS_DATA" \
        DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 \
        JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$LS_DATA/java-tmp -XX:-UsePerfData" \
        NC_LS_S3_TMP_DIR="$LS_DATA/s3-storage" \
        "$VENV_LOCALSTACK/bin/python" "$NC_LS_DIR/run_localstack.py"
}

start_moto() {
    if [[ -n "$(pidfile_live "$MOTO_PIDFILE")" ]]; then
        log "moto: already running (pid $(cut -d' ' -f1 "$MOTO_PIDFILE"))"
        return 0
    fi
    rm -f "$MOTO_PIDFILE"
    port_in_use "$NC_MOTO_PORT" \
        && die "port $NC_MOTO_PORT is in use by a process this run dir did not start (set NC_MOTO_PORT)"
    launch moto "$MOTO_PIDFILE" "$MOTO_LOG" \
        "$VENV_MOTO/bin/moto_server" -H 127.0.0.1 -p "$NC_MOTO_PORT"
}

t0=$(now_us)
wait_ls=false wait_moto=false
if [[ "$what" == all || "$what" == localstack ]]; then start_localstack; wait_ls=true; fi
if [[ "$what" == all || "$what" == moto ]]; then start_moto; wait_moto=true; fi

# Wait for both in parallel; fail early if a process dies.
deadline=$((SECONDS + NC_EMU_TIMEOUT))
while $wait_ls || $wait_moto; do
    if $wait_ls; then
        if localstack_healthy; then
            wait_ls=false
            log "localstack: healthy at $LS_URL"
        elif [[ -z "$(pidfile_live "$LS_PIDFILE")" ]]; then
            fail localstack "$LS_LOG" "exited during start-up"
        fi
    fi
    if $wait_moto; then
        if moto_healthy; then
            wait_moto=false
            log "moto: healthy at $MOTO_URL"
        elif [[ -z "$(pidfile_live "$MOTO_PIDFILE")" ]]; then
            fail moto "$MOTO_LOG" "exited during start-up"
        fi
    fi
    if ((SECONDS >= deadline)); then
        if $wait_ls; then fail localstack "$LS_LOG" "not healthy after $NC_EMU_TIMEOUT s"; fi
        if $wait_moto; then fail moto "$MOTO_LOG" "not healthy after $NC_EMU_TIMEOUT s"; fi
    fi
    if $wait_ls || $wait_moto; then sleep 0.2; fi
done
log "ready in $(since "$t0") (client environment: eval \"\$(localstack/env.sh)\")"
