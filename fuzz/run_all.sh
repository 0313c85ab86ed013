#!/usr/bin/env bash
# Runs every fuzz target in turn (never two at once), each until 10 million
# executions or SECONDS_PER_TARGET seconds, whichever comes first, niced.
# Usage: fuzz/run_all.sh [SECONDS_PER_TARGET] [TARGET...]
# Needs a nightly toolchain and cargo-fuzz (see README, "Fuzzing").
# Logs go to fuzz/logs/<target>.log; new corpus entries to fuzz/corpus/<target>/
# (not committed); crashes to fuzz/artifacts/<target>/ — copy each into
# fuzz/regressions/<target>/ once fixed, so `cargo test` replays it.
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-1800}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(container coder_roundtrip tokenizer model_load decompress)
export CZIP_MODELS_DIR="${CZIP_MODELS_DIR:-$PWD/../../shared/models}"
mkdir -p logs
# Build once, then run the binaries directly, so that edits made while the
# campaign runs do not trigger a rebuild per target.
nice -n 10 cargo +nightly fuzz build -O --debug-assertions >logs/build.log 2>&1 || { tail logs/build.log; exit 1; }
bin_dir=target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  max_len=4096
  [ "$t" = model_load ] && max_len=80000
  echo "== $t: up to 10000000 runs or ${secs}s" | tee "logs/$t.log"
  mkdir -p "artifacts/$t"
  nice -n 10 "$bin_dir/$t" "corpus/$t" "seeds/$t" -artifact_prefix="artifacts/$t/" \
    -runs=10000000 -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 -timeout=60 \
    -print_final_stats=1 >>"logs/$t.log" 2>&1
  echo "== $t: exit $?" | tee -a "logs/$t.log"
  grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" "logs/$t.log" | tail -3
done
