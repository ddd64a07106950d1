#!/usr/bin/env bash
# Fuzzes rwg's parsers with cargo-fuzz (libFuzzer): runs every target in
# fuzz/fuzz_targets/ for SECONDS each, one after another, then prints one
# line per target (executions, crash files) and exits 1 if any target crashed.
#
# Usage: scripts/fuzz.sh [SECONDS]        (default 60 per target)
#
# Knobs:
#   SECONDS       argument 1: libFuzzer -max_total_time per target (default 60).
#   RSS_LIMIT_MB  env: libFuzzer -rss_limit_mb (default 2048); also the
#                 malloc limit, so one allocation above it is a crash (oom-*).
#   FUZZ_TARGETS  env: space-separated targets to run (default: all in
#                 fuzz/fuzz_targets/).
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs
# cargo-fuzz if it is missing. Corpora grow in fuzz/corpus/TARGET (seeded from
# fuzz/seeds/TARGET); crashing inputs land in fuzz/artifacts/TARGET/, and
# logs in fuzz/logs/TARGET.log. The crash count is every file in
# fuzz/artifacts/TARGET/, including ones left by earlier runs: delete a crash
# file once its bug is fixed (and kept as a regression test). Reproduce one
# with `cd fuzz && cargo +nightly fuzz run TARGET artifacts/TARGET/FILE`.
set -euo pipefail

seconds="${1:-60}"
rss_limit_mb="${RSS_LIMIT_MB:-2048}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]   (SECONDS: a positive whole number)" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
cd "$fuzz_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz ..." >&2
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for f in fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "no fuzz targets in $fuzz_dir/fuzz_targets" >&2
    exit 2
fi

# Build everything first, so a build error stops the script before any run.
cargo +nightly fuzz build

mkdir -p logs
declare -A execs crashes status
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    corpora=("corpus/$t")
    [ -d "seeds/$t" ] && corpora+=("seeds/$t")
    log="logs/$t.log"
    echo "=== fuzzing $t for ${seconds}s (log: fuzz/$log)" >&2
    rc=0
    cargo +nightly fuzz run "$t" "${corpora[@]}" -- \
        -max_total_time="$seconds" \
        -rss_limit_mb="$rss_limit_mb" \
        -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    # Executions: libFuzzer's final stats; after a crash, the last status line.
    n="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1 || true)"
    if [ -z "$n" ]; then
        n="$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -n 1 || true)"
    fi
    execs[$t]="${n:--}"
    crashes[$t]="$(find "artifacts/$t" -type f | wc -l | tr -d ' ')"
    if [ "$rc" -ne 0 ] || [ "${crashes[$t]}" -ne 0 ]; then
        status[$t]="CRASH (exit $rc)"
        failed=1
        grep -E "panicked at|^SUMMARY|==ERROR|Test unit written to" "$log" | head -n 6 >&2 || true
    else
        status[$t]="ok"
    fi
done

echo
printf '%-14s %14s %8s  %s\n' target executions crashes status
for t in "${targets[@]}"; do
    printf '%-14s %14s %8s  %s\n' "$t" "${execs[$t]}" "${crashes[$t]}" "${status[$t]}"
done
exit "$failed"
