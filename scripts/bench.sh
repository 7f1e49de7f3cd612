#!/usr/bin/env bash
# Codec micro-benchmarks of caproto-core, as reported in BENCHMARKS.md.
#
#   scripts/bench.sh criterion [RUNS] [FILTER]   wall time: RUNS (default 3)
#       runs of `cargo bench -p caproto-core --bench codec -- FILTER`; prints
#       per-run criterion medians, their median, the spread, and the ratio to
#       the 800,000-byte memcpy of the same run set.
#   scripts/bench.sh callgrind [CASE...]         instruction counts (Ir) per
#       iteration under `valgrind --tool=callgrind` (deterministic), for the
#       cases of `codec --callgrind list` (default: all).
#   scripts/bench.sh machine                     the machine/toolchain lines.
#   scripts/bench.sh                             machine, criterion 3, callgrind.
#
# Needs: cargo, jq, python3; valgrind for `callgrind`. Raw results go to
# <target dir>/bench-results/. CARGO_TARGET_DIR and RUSTFLAGS are honoured,
# e.g. RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/t-native.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir() { cargo metadata --format-version 1 --no-deps | jq -r .target_directory; }

machine() {
    echo "date:   $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "nproc:  $(nproc)"
    echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -r)"
    echo "rustc:  $(rustc --version)"
    if git rev-parse --git-dir >/dev/null 2>&1; then
        echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (crates/ modified)')"
    else
        echo "commit: (not a git checkout)"
    fi
    if command -v valgrind >/dev/null; then echo "valgrind: $(valgrind --version)"; fi
}

bench_binary() {
    cargo bench -p caproto-core --bench codec --no-run --message-format=json 2>/dev/null |
        jq -r 'select(.reason == "compiler-artifact" and .target.name == "codec" and .executable != null) | .executable' |
        tail -n1
}

run_criterion() {
    local runs=${1:-3} filter=${2:-}
    local target out
    target=$(target_dir)
    out="$target/bench-results/$(date +%Y%m%dT%H%M%S)"
    mkdir -p "$out"
    machine >"$out/machine.txt"
    for i in $(seq 1 "$runs"); do
        echo "==> criterion run $i/$runs" >&2
        touch "$out/stamp$i"
        sleep 1 # mtime granularity
        # shellcheck disable=SC2086 # FILTER may be empty
        cargo bench -p caproto-core --bench codec -- $filter >"$out/run$i.log" 2>&1
        find "$target/criterion" -path '*/new/estimates.json' -newer "$out/stamp$i" | sort |
            while read -r est; do
                local dir id median bytes
                dir=$(dirname "$est")
                id=$(jq -r .full_id "$dir/benchmark.json")
                bytes=$(jq -r '.throughput.Bytes // 0' "$dir/benchmark.json")
                median=$(jq -r .median.point_estimate "$est")
                printf '%s\t%s\t%s\n' "$id" "$median" "$bytes"
            done >"$out/run$i.tsv"
    done
    python3 - "$out" "$runs" <<'EOF'
import statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
import re
data = {}  # id -> ([median_ns per run], bytes)
# Rows in the order the benchmarks ran (the order of benches/codec.rs).
order = re.findall(r"^Benchmarking (\S+): Analyzing$", open(f"{out}/run1.log").read(), re.M)
order = list(dict.fromkeys(order))
for i in range(1, runs + 1):
    for line in open(f"{out}/run{i}.tsv"):
        bid, med, nbytes = line.rstrip("\n").split("\t")
        if bid not in data:
            data[bid] = ([], int(nbytes))
            if bid not in order:
                order.append(bid)
        data[bid][0].append(float(med))
def fmt(ns):
    if ns >= 1e6: return f"{ns/1e6:.2f} ms"
    if ns >= 1e3: return f"{ns/1e3:.1f} µs"
    return f"{ns:.1f} ns"
base = data.get("dbr_double_100k/memcpy_800k_preallocated")
base_med = statistics.median(base[0]) if base else None
print(f"criterion medians over {runs} runs (per-run value: median of criterion's samples)")
print("| benchmark | runs | median | spread | throughput | / memcpy 800k |")
print("|---|---|---|---|---|---|")
for bid in [b for b in order if b in data]:
    vals, nbytes = data[bid]
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / med * 100
    thr = f"{nbytes / med:.2f} GB/s" if nbytes else ""
    ratio = f"{med / base_med:.2f}x" if base_med and nbytes else ""
    runs_s = " / ".join(fmt(v) for v in vals)
    print(f"| `{bid}` | {runs_s} | **{fmt(med)}** | {spread:.0f}% | {thr} | {ratio} |")
EOF
    echo "raw results: $out" >&2
}

run_callgrind() {
    local bin out
    bin=$(bench_binary)
    out="$(target_dir)/bench-results/callgrind"
    mkdir -p "$out"
    local cases=("$@")
    if [ ${#cases[@]} -eq 0 ]; then
        mapfile -t cases < <("$bin" --callgrind list | cut -d' ' -f1)
    fi
    echo "callgrind: instructions (Ir) per iteration, collected inside cg_measure only"
    echo "| case | iterations | Ir / iteration |"
    echo "|---|---|---|"
    for c in "${cases[@]}"; do
        local f iters total
        f="$out/$(echo "$c" | tr '/' '_').out"
        iters=$("$bin" --callgrind list | awk -v c="$c" '$1 == c { print $2 }')
        valgrind --tool=callgrind --toggle-collect='*cg_measure*' --callgrind-out-file="$f" \
            "$bin" --callgrind "$c" >/dev/null 2>&1
        total=$(awk '/^totals:/ { print $2 }' "$f")
        printf '| `%s` | %s | %s |\n' "$c" "$iters" "$(python3 -c "print(f'{$total / $iters:,.0f}')")"
    done
    echo "profiles: $out (callgrind_annotate --inclusive=yes FILE)" >&2
}

case "${1:-all}" in
    machine) machine ;;
    criterion) shift; run_criterion "${1:-3}" "${2:-}" ;;
    callgrind) shift; run_callgrind "$@" ;;
    all) machine; run_criterion 3; run_callgrind ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
