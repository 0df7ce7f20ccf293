# shellcheck shell=bash disable=SC2034  # the variables below are used by the sourcing scripts
# Shared settings and helpers for the localstack/*.sh scripts. Sourced, never executed.
#
# Where things live (all overridable from the environment):
#   NC_EMU_HOME         installed emulators: venvs, DynamoDB Local, stamps. Outside the clone so CI
#                       can cache it.                  default: $HOME/.cache/nc-provision/emulators
#   NC_EMU_RUN          per-run state: pid files, logs, LocalStack's data dir (wiped by reset.sh).
#                                                      default: <repo>/.localstack (git-ignored)
#   NC_LOCALSTACK_PORT  LocalStack gateway port on 127.0.0.1            default: 4566
#   NC_MOTO_PORT        moto server port on 127.0.0.1                   default: 4567
#   NC_EMU_TIMEOUT      seconds start.sh waits for health               default: 60

NC_LS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NC_REPO_DIR="$(dirname "$NC_LS_DIR")"

NC_EMU_HOME="${NC_EMU_HOME:-$HOME/.cache/nc-provision/emulators}"
NC_EMU_RUN="${NC_EMU_RUN:-$NC_REPO_DIR/.localstack}"
[[ "$NC_EMU_RUN" == /* ]] || NC_EMU_RUN="$PWD/$NC_EMU_RUN"   # it ends up in env vars and pid files
NC_LOCALSTACK_PORT="${NC_LOCALSTACK_PORT:-4566}"
NC_MOTO_PORT="${NC_MOTO_PORT:-4567}"
NC_EMU_TIMEOUT="${NC_EMU_TIMEOUT:-60}"

# Installed layout (written by install.sh).
VENV_LOCALSTACK="$NC_EMU_HOME/venv-localstack"
VENV_MOTO="$NC_EMU_HOME/venv-moto"
STATIC_LIBS="$NC_EMU_HOME/static-libs"     # becomes <FILESYSTEM_ROOT>/usr/lib/localstack/{dynamodb-local,java}
STAMPS="$NC_EMU_HOME/stamps"

# Per-run layout (written by start.sh). LocalStack's FILESYSTEM_ROOT is a subdirectory, so a reset
# can wipe it without losing pid files and logs.
LS_DATA="$NC_EMU_RUN/localstack-data"
LS_PIDFILE="$NC_EMU_RUN/localstack.pid"
LS_LOG="$NC_EMU_RUN/localstack.log"
MOTO_PIDFILE="$NC_EMU_RUN/moto.pid"
MOTO_LOG="$NC_EMU_RUN/moto.log"

LS_URL="http://127.0.0.1:$NC_LOCALSTACK_PORT"
MOTO_URL="http://127.0.0.1:$NC_MOTO_PORT"

# Wall-clock microseconds (bash 5), and seconds elapsed since such a value, to 0.1 s.
now_us() { local t="${EPOCHREALTIME//[.,]/}"; printf '%s\n' "${t#0}"; }
since() { local us=$(($(now_us) - $1)); printf '%d.%d s\n' $((us / 1000000)) $((us / 100000 % 10)); }

log() { printf '[emulators] %s\n' "$*" >&2; }
die() { printf '[emulators] error: %s\n' "$*" >&2; exit 1; }

# Fields of /proc/PID/stat from field 3 on, into the array STAT (STAT[0] = state, STAT[1] = ppid,
# STAT[19] = start time in clock ticks since boot). The command name (field 2) may contain spaces
# and ')', so cut after the last ')'. Builtins only: this runs once per process in a /proc scan.
proc_stat() {
    local line
    STAT=()
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    line="${line##*) }"
    read -r -a STAT <<<"$line"
}

# Start time of a process, or nothing if it does not exist.
proc_starttime() {
    local STAT
    proc_stat "$1" && printf '%s\n' "${STAT[19]}"
    return 0
}

# True if PID is alive and still has the given start time (so it is the process we started, not a
# later one that reused the PID). A zombie counts as gone: it has exited, only its parent has not
# reaped it yet.
proc_is() {
    local STAT
    [[ -n "$1" && -n "$2" ]] && proc_stat "$1" && [[ "${STAT[0]}" != Z && "${STAT[19]}" == "$2" ]]
}

# Record a PID we started: "PID STARTTIME".
pidfile_write() {
    local file="$1" pid="$2" start
    start="$(proc_starttime "$pid")"
    [[ -n "$start" ]] || return 1
    printf '%s %s\n' "$pid" "$start" >"$file"
}

# Print "PID STARTTIME" from a pid file if that process is still the one recorded; nothing otherwise.
pidfile_live() {
    local file="$1" pid start
    [[ -f "$file" ]] || return 0
    read -r pid start <"$file" || true
    if proc_is "$pid" "$start"; then printf '%s %s\n' "$pid" "$start"; fi
}

# All descendants of PID (children, grandchildren, ...) as "PID STARTTIME" lines, found by scanning
# /proc for parent links (works even where /proc/PID/task/*/children is unavailable).
proc_descendants() {
    local p STAT
    local -A parent_of=() start_of=()
    for p in /proc/[0-9]*; do
        p="${p#/proc/}"
        proc_stat "$p" || continue
        parent_of[$p]="${STAT[1]}"
        start_of[$p]="${STAT[19]}"
    done
    local -a queue=("$1")
    while ((${#queue[@]})); do
        local cur="${queue[0]}"
        queue=("${queue[@]:1}")
        for p in "${!parent_of[@]}"; do
            if [[ "${parent_of[$p]}" == "$cur" ]]; then
                printf '%s %s\n' "$p" "${start_of[$p]}"
                queue+=("$p")
            fi
        done
    done
}

# Processes that carry a start.sh marker (NC_EMU_MARKER=<component>:<NC_EMU_RUN>) in their
# environment, as "PID STARTTIME" lines. Every process start.sh launches, and everything those
# processes spawn, inherits the marker; nothing else has it. This is how stop.sh finds a DynamoDB
# Local JVM orphaned by a LocalStack that died before stop.sh ran. (Only our own processes'
# environ files are readable, which is all we want.)
proc_with_marker() {
    local f p st
    while IFS= read -r f; do
        p="${f#/proc/}"
        p="${p%/environ}"
        [[ "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
        st="$(proc_starttime "$p")"
        [[ -n "$st" ]] && printf '%s %s\n' "$p" "$st"
    done < <(grep -lzxF -- "NC_EMU_MARKER=$1" /proc/[0-9]*/environ 2>/dev/null || true)
}

# HTTP GET returning success only on a 2xx status.
http_ok() {
    curl -fsS -o /dev/null --max-time "${2:-2}" "$1" 2>/dev/null
}

localstack_healthy() { http_ok "$LS_URL/_localstack/health"; }
moto_healthy() { http_ok "$MOTO_URL/moto-api/config"; }

# True if something (anyone) accepts TCP connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
