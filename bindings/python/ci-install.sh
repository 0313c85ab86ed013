#!/usr/bin/env bash
# The Python side of the bindings' CI step: a venv under target/ with maturin,
# pytest and numpy. Called by ci-test.sh (a no-op when they are there) and
# started early by .ci/run, in the background while cargo builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/venv-bindings
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.5,<2" pytest numpy
echo "target/venv-bindings ready: $("$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei '^(maturin|pytest|numpy) ' | tr -s ' ' | paste -sd, -)"
