#!/usr/bin/env bash
# Branch coverage of the CZIP v1 numerics (spec §1–§7) by the golden corpus.
#
# Builds czip-conformance with LLVM source-based coverage (nightly rustc,
# `-C instrument-coverage -Z coverage-options=branch`, only the czip crate
# instrumented) into target/coverage, runs the corpus suites through the
# built-in engine (`czip-conformance run --impl rust`), merges the profiles
# and reports region / line / branch coverage of the numerics modules only.
#
# Usage: ci/coverage.sh [--suites "S …"] [--kernels "K …"] [--kernel-suites "S …"] [--no-build] [--out FILE]
#   --suites         run with the default kernel (default: core model-v000
#                    model-v001 synthetic reject; add files for the files suite, slow)
#   --kernels        matrix kernels to force (default: every one this CPU runs)
#   --kernel-suites  run again with each of them forced (default: model-v000)
#   --out            the Markdown report (default reports/coverage/numerics.md)
#
# Needs: the nightly toolchain and its llvm-tools
#   rustup toolchain install nightly
#   rustup component add llvm-tools-preview --toolchain nightly
# Models and golden texts as for the tests (CZIP_MODELS_DIR, CZIP_GOLDEN_DIR).
# Takes ~10 minutes on 2 cores (mostly the synthetic suite).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SUITES="core model-v000 model-v001 synthetic reject"
KERNELS=""
KERNEL_SUITES="model-v000"
BUILD=1
OUT=reports/coverage/numerics.md
while [ $# -gt 0 ]; do
  case "$1" in
    --suites) SUITES="$2"; shift 2 ;;
    --kernels) KERNELS="$2"; shift 2 ;;
    --kernel-suites) KERNEL_SUITES="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "coverage.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "coverage.sh: $*" >&2; exit 1; }

# --- toolchain checks ---------------------------------------------------------
command -v rustup >/dev/null 2>&1 || die "rustup not found: install it from https://rustup.rs, then
  rustup toolchain install nightly && rustup component add llvm-tools-preview --toolchain nightly"
if ! rustc +nightly --version >/dev/null 2>&1; then
  die "the nightly toolchain is missing: rustup toolchain install nightly && rustup component add llvm-tools-preview --toolchain nightly"
fi
SYSROOT=$(rustc +nightly --print sysroot)
HOST=$(rustc +nightly -vV | sed -n 's/^host: //p')
LLVM_BIN="$SYSROOT/lib/rustlib/$HOST/bin"
PROFDATA="$LLVM_BIN/llvm-profdata"
LLVMCOV="$LLVM_BIN/llvm-cov"
if [ ! -x "$PROFDATA" ] || [ ! -x "$LLVMCOV" ]; then
  die "llvm-profdata / llvm-cov not found in $LLVM_BIN: rustup component add llvm-tools-preview --toolchain nightly"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to write the report"

export CZIP_MODELS_DIR="${CZIP_MODELS_DIR:-$ROOT/../shared/models}"
export CZIP_GOLDEN_DIR="${CZIP_GOLDEN_DIR:-$ROOT/../shared/golden}"
export CZIP_CORPUS_DIR="${CZIP_CORPUS_DIR:-$CZIP_GOLDEN_DIR/corpus}"
[ -f "$CZIP_MODELS_DIR/v001_eng.czm" ] || die "models not found at $CZIP_MODELS_DIR (set CZIP_MODELS_DIR)"
[ -d "$CZIP_CORPUS_DIR" ] || die "corpus texts not found at $CZIP_CORPUS_DIR (set CZIP_GOLDEN_DIR)"

# --- instrumented build (own target dir and profile: normal builds untouched) --
TARGET="$ROOT/target/coverage"
BIN="$TARGET/coverage/czip-conformance"
if [ "$BUILD" = 1 ]; then
  echo "== building the instrumented czip-conformance (target/coverage)" >&2
  cargo +nightly -Z profile-rustflags build --locked --bin czip-conformance \
    --profile coverage --target-dir "$TARGET" \
    --config 'profile.coverage.inherits="release"' \
    --config 'profile.coverage.package.czip.rustflags=["-Cinstrument-coverage","-Zcoverage-options=branch"]' >&2
fi
[ -x "$BIN" ] || die "$BIN not built (run without --no-build)"

# --- run the corpus -------------------------------------------------------------
PROF="$TARGET/profiles"
rm -rf "$PROF"; mkdir -p "$PROF"
run_suite() { # suite kernel ("default": the engine's choice, the fastest)
  local s=$1 k=$2 args=()
  [ "$k" = default ] || args=(--kernel "$k")
  echo "== run --impl rust --suite $s ${args[*]:-}" >&2
  local t0=$SECONDS
  if ! LLVM_PROFILE_FILE="$PROF/$s-$k-%p-%m.profraw" "$BIN" run --impl rust --suite "$s" "${args[@]}" \
      --report "$TARGET/report-$s-$k" >"$TARGET/run-$s-$k.log" 2>&1; then
    tail -20 "$TARGET/run-$s-$k.log" >&2
    die "suite $s failed under coverage (log: $TARGET/run-$s-$k.log)"
  fi
  echo "   $(grep -E '^[0-9]+ passed' "$TARGET/run-$s-$k.log" || true) ($((SECONDS - t0)) s)" >&2
}
if [ -z "$KERNELS" ]; then # every kernel this CPU runs (run --kernel refuses the others)
  KERNELS=$(for k in avx512 avx2 scalar; do
    LLVM_PROFILE_FILE="$PROF/probe-%p-%m.profraw" "$BIN" run --impl rust --kernel "$k" --suite reject >/dev/null 2>&1 && echo "$k"
  done | xargs)
  [ -n "$KERNELS" ] || die "czip-conformance run --kernel works with no kernel (see $BIN run --impl rust --kernel scalar --suite reject)"
fi
for s in $SUITES; do run_suite "$s" default; done
# The kernels change the int8 matrix products, the exps and the attention
# softmax: one cheap suite of chunk
# ops (every row count of a 64-token chunk) reaches all of their code.
for k in $KERNELS; do
  for s in $KERNEL_SUITES; do run_suite "$s" "$k"; done
done

# --- merge and report ---------------------------------------------------------------
"$PROFDATA" merge -sparse "$PROF"/*.profraw -o "$TARGET/numerics.profdata"
# The §1–§7 code, by spec section (see reports/coverage/README in the report).
FILES=(
  src/numerics/mod.rs src/numerics/rounding.rs src/numerics/exp.rs
  src/tables.rs
  src/model/layers.rs src/model/attention.rs src/model/batch_attention.rs
  src/model/forward.rs src/model/batch.rs
  src/model/kernels/mod.rs src/model/kernels/elementwise.rs src/model/kernels/packed.rs
  src/model/kernels/scalar.rs src/model/kernels/avx2.rs src/model/kernels/avx512.rs src/model/kernels/values.rs
  src/model/kernels/exps.rs src/model/kernels/attention_avx512.rs
  src/freq_table.rs
  src/coder/mod.rs src/coder/encoder.rs src/coder/decoder.rs src/coder/bit_io.rs
)
for f in "${FILES[@]}"; do [ -f "$f" ] || die "$f no longer exists: update FILES in ci/coverage.sh"; done
"$LLVMCOV" export --format=text --instr-profile "$TARGET/numerics.profdata" "$BIN" "${FILES[@]}" >"$TARGET/numerics.json"
"$LLVMCOV" show --instr-profile "$TARGET/numerics.profdata" "$BIN" --show-branches=count \
  --show-line-counts-or-regions "${FILES[@]}" >"$TARGET/numerics.txt"
mkdir -p "$(dirname "$OUT")"
python3 ci/coverage_report.py --export "$TARGET/numerics.json" --notes ci/coverage-notes.tsv \
  --suites "$SUITES" --kernels "$KERNELS" --kernel-suites "$KERNEL_SUITES" --md "$OUT"
echo "report: $OUT   annotated source: $TARGET/numerics.txt" >&2
