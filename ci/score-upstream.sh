#!/usr/bin/env bash
# Scores every upstream output set in ../shared/golden/files with
# `czip-conformance score` and writes the reports under reports/upstream/.
# These reports are committed: they name the divergences each set reveals.
set -euo pipefail
cd "$(dirname "$0")/.."
GOLDEN="${CZIP_GOLDEN_DIR:-../shared/golden}"
BIN=target/release/czip-conformance
[ -x "$BIN" ] || cargo build --release --bin czip-conformance
for dir in $(cd "$GOLDEN/files" && find . -mindepth 3 -maxdepth 3 -type d | sort); do
  set_name=$(echo "${dir#./}" | tr '/' '-')
  echo "== $set_name"
  "$BIN" score --impl-name "upstream $set_name" --files "$GOLDEN/files/${dir#./}" \
    --corpus "$GOLDEN/corpus" --report "reports/upstream/$set_name" | grep -E "verdict|^finding" || true
done
