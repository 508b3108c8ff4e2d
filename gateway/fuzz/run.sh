#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 600) on its corpus, one job, lowest priority;
# crashes go to artifacts/<target>/, the log to artifacts/<target>.log.
# Extra arguments go to libFuzzer, e.g. `-fork=1 -ignore_crashes=1` to go on after a crash.
#   bash gateway/fuzz/run.sh aws_chunked 600
set -euo pipefail
cd "$(dirname "$0")"
t="$1"; secs="${2:-600}"; shift; shift || true
bin="${FUZZ_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/$t"
mkdir -p "corpus/$t" "artifacts/$t"
exec nice -n 19 "$bin" "corpus/$t" -max_total_time="$secs" -artifact_prefix="artifacts/$t/" \
  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@" > "artifacts/$t.log" 2>&1
