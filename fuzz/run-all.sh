#!/usr/bin/env bash
# Runs every fuzz target, one after the other, for SECONDS each (default
# 60), in one process (no -jobs: the machine is shared), with a per-input timeout and a memory limit, and
# prints one summary line per target. Exits 1 if any target found a crash,
# a timeout or an out-of-memory (its input is in fuzz/artifacts/TARGET/).
#
#   bash fuzz/run-all.sh [SECONDS] [TARGET...]
#   FUZZ_FLAGS=-O bash fuzz/run-all.sh 60 flow     # the -O build instead
#
# Needs the nightly toolchain and cargo-fuzz (see fuzz/README.md). Run it
# from anywhere; it works from the repository root. The corpus each run
# grows stays in fuzz/corpus/TARGET (commit it if you want to keep it).
set -euo pipefail

seconds=${1:-60}
shift || true
cd "$(dirname "$0")/.."
all=$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^bawaba-fuzz$')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<< "$(echo $all)"
flags=${FUZZ_FLAGS:-}

# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
cargo +nightly fuzz build $flags
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    log=$(mktemp)
    # shellcheck disable=SC2086
    if cargo +nightly fuzz run $flags "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed=1
    fi
    after=$(find "fuzz/corpus/$t" -type f | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    printf '%-11s %-6s %10s runs %7s exec/s  corpus %5s -> %5s  peak %s MB\n' \
        "$t" "$status" "${runs:-?}" "${rate:-?}" "$before" "$after" "${rss:-?}"
    if [ "$status" = FAILED ]; then
        grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$log" | head -20 || true
    fi
    rm -f "$log"
done
exit "$failed"
