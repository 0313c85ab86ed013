#!/usr/bin/env bash
# The conformance gate a CI calls: runs the required suites against one
# implementation and fails (exit 1) on any failure of a required case.
#
#   ci/conformance-gate.sh IMPL [SUITE…]
#
# IMPL is `rust`, `python` or a path to an implementation manifest (.toml).
# Reports (JSON, Markdown, JUnit XML) go to ${CZIP_REPORT_DIR:-reports/gate}/<impl>.
# Models: $CZIP_MODELS_DIR (default ../shared/models); corpus texts:
# $CZIP_CORPUS_DIR (default ../shared/golden/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
impl="${1:?usage: ci/conformance-gate.sh IMPL [SUITE…]}"
shift
args=()
for s in "$@"; do args+=(--suite "$s"); done
name=$(basename "$impl" .toml)
out="${CZIP_REPORT_DIR:-reports/gate}/$name"
cargo build --release --locked --bin czip-conformance >&2
set +e
target/release/czip-conformance run --impl "$impl" "${args[@]}" --report "$out"
status=$?
set -e
echo "conformance gate for $impl: $([ $status -eq 0 ] && echo PASSED || echo FAILED) (reports in $out)"
exit $status
