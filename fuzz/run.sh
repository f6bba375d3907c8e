#!/usr/bin/env bash
# fuzz/run.sh: runs the fuzz targets (cargo-fuzz, libFuzzer, stable toolchain: `-s none`).
#
#   fuzz/run.sh [--seconds S | --runs N] [--jobs J] [TARGET...]
#
# Default: every target for 10 seconds (the CI check; `scripts/test fuzz`). The campaign that
# FUZZING.md reports: `fuzz/run.sh --runs 10000000`. Each target starts from its kept corpus
# (fuzz/corpus/<target>) plus the hand-made seeds (fuzz/seeds/<target>) and adds what it finds to
# a scratch copy (never to the kept corpus: `fuzz/run.sh --minimise` merges that back). A crash,
# a hang (over 10 s on one input), an out-of-memory or an invariant failure fails the run and
# leaves the input under fuzz/artifacts/<target>/; the last line of each target's log is its
# final stats. Logs: fuzz/artifacts/<target>.log. Needs cargo-fuzz (installed if missing).
#
#   fuzz/run.sh --minimise [TARGET...]   merge corpus, seeds and scratch into a minimal fuzz/corpus
#                                        (libFuzzer -set_cover_merge: the fewest inputs with the same coverage)
set -euo pipefail

FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL=(event envelope routing cgi_response conditional archive seed)
mode=seconds value=10 jobs=2 minimise=0 targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --seconds) mode=seconds value=$2; shift 2 ;;
        --runs) mode=runs value=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --minimise) minimise=1; shift ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")

dict_of() {
    case $1 in
        event | envelope) echo "$FUZZ/dicts/json.dict" ;;
        routing) echo "$FUZZ/dicts/routing.dict" ;;
        cgi_response | conditional) echo "$FUZZ/dicts/http.dict" ;;
        *) echo "" ;;
    esac
}

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd "$FUZZ"
cargo fuzz build -s none
BIN="$FUZZ/target/x86_64-unknown-linux-gnu/release"
SCRATCH="$FUZZ/artifacts/scratch"
mkdir -p "$FUZZ/artifacts" "$SCRATCH"
# archive/seed write a scratch tree per input: keep that in memory
export TMPDIR=/dev/shm

if [[ $minimise -eq 1 ]]; then
    for t in "${targets[@]}"; do
        mkdir -p "$SCRATCH/$t" "$FUZZ/corpus/$t"
        rm -rf "$FUZZ/corpus/$t.min" && mkdir "$FUZZ/corpus/$t.min"
        "$BIN/$t" -set_cover_merge=1 -max_len=16384 "$FUZZ/corpus/$t.min" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" "$SCRATCH/$t" \
            >"$FUZZ/artifacts/$t.merge.log" 2>&1
        rm -rf "$FUZZ/corpus/$t" && mv "$FUZZ/corpus/$t.min" "$FUZZ/corpus/$t"
        echo "$t: $(find "$FUZZ/corpus/$t" -type f | wc -l) inputs, $(du -sk "$FUZZ/corpus/$t" | cut -f1) KiB"
    done
    exit 0
fi

run_one() {
    local t=$1 limit d
    d="$(dict_of "$t")"
    mkdir -p "$SCRATCH/$t" "$FUZZ/artifacts/$t"
    if [[ $mode == runs ]]; then limit=(-runs="$value"); else limit=(-max_total_time="$value"); fi
    "$BIN/$t" "$SCRATCH/$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" ${d:+-dict="$d"} "${limit[@]}" \
        -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FUZZ/artifacts/$t/" >"$FUZZ/artifacts/$t.log" 2>&1
}

running=0
for t in "${targets[@]}"; do
    rm -f "$FUZZ/artifacts/$t.rc"
    ( rc=0; run_one "$t" || rc=$?; echo "$rc" >"$FUZZ/artifacts/$t.rc" ) &
    running=$((running + 1))
    if [[ $running -ge $jobs ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait
failed=()
for t in "${targets[@]}"; do
    [[ $(cat "$FUZZ/artifacts/$t.rc" 2>/dev/null) == 0 ]] || failed+=("$t")
done
for t in "${targets[@]}"; do
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$FUZZ/artifacts/$t.log" | grep -o '[0-9]*$' || echo "?")
    per_s=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$FUZZ/artifacts/$t.log" | grep -o '[0-9]*$' || echo "?")
    corpus=$(find "$SCRATCH/$t" "$FUZZ/corpus/$t" -type f 2>/dev/null | wc -l)
    echo "[fuzz] $t: $runs runs, $per_s/s, $corpus inputs (kept corpus + found)$([[ " ${failed[*]} " == *" $t "* ]] && echo ", FAILED (fuzz/artifacts/$t.log)")"
done
if [[ ${#failed[@]} -gt 0 ]]; then
    for t in "${failed[@]}"; do
        echo "[fuzz] --- $t" >&2
        grep -E -A12 'panicked|ERROR: libFuzzer|SUMMARY' "$FUZZ/artifacts/$t.log" | head -40 >&2
    done
    exit 1
fi
