#!/usr/bin/env bash
# The conformance gate a CI calls: runs the required suites against one
# implementation and fails (exit 1) on any failure of a required case.
#
#   ci/conformance-gate.sh IMPL [SUITE…]
#
# IMPL is `rust`, `python` or a path to an implementation manifest (.toml).
# Reports (JSON, Markdown, JUnit XML) go to ${CZIP_REPORT_DIR:-reports/gate}/<impl>.
# Models: $CZIP_MODELS_DIR (default ../shared/models); corpus texts:
# $CZIP_CORPUS_DIR (default ../shared/golden/corpus). The runner is built
# with cargo profile ${CZIP_CARGO_PROFILE:-release} (this repository's CI
# uses `checked`, the build its tests already made).
#
# A relative manifest path, CZIP_REPORT_DIR, CZIP_MODELS_DIR,
# CZIP_CORPUS_DIR and CARGO_TARGET_DIR (where the runner is built, default
# target/) are taken from the caller's working directory (the script
# then works from the repository root; the defaults are relative to it).
set -euo pipefail
impl="${1:?usage: ci/conformance-gate.sh IMPL [SUITE…]}"
shift
# An absolute path for $1 when it is relative, resolved in the caller's directory.
from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
if [ -f "$impl" ] || [[ "$impl" == *.toml ]]; then
  impl=$(from_caller "$impl")
fi
report_dir=
if [ -n "${CZIP_REPORT_DIR:-}" ]; then
  report_dir=$(from_caller "$CZIP_REPORT_DIR")
fi
for var in CZIP_MODELS_DIR CZIP_CORPUS_DIR CARGO_TARGET_DIR; do
  if [ -n "${!var:-}" ]; then export "$var=$(from_caller "${!var}")"; fi
done
cd "$(dirname "$0")/.."
args=()
for s in "$@"; do args+=(--suite "$s"); done
name=$(basename "$impl" .toml)
out="${report_dir:-reports/gate}/$name"
profile="${CZIP_CARGO_PROFILE:-release}"
cargo build --profile "$profile" --locked --bin czip-conformance >&2
set +e
"${CARGO_TARGET_DIR:-target}/$profile/czip-conformance" run --impl "$impl" "${args[@]}" --report "$out"
status=$?
set -e
echo "conformance gate for $impl: $([ $status -eq 0 ] && echo PASSED || echo FAILED) (reports in $out)"
exit $status
