#!/usr/bin/env bash
# The Python side of the scale path's CI test: a venv target/venv-scale with
# ray[data] (pinned: a cp311 manylinux wheel) and tqdm. Called by ci-test.sh
# (a no-op when they are there) and started early by .ci/run, in the
# background while cargo builds.
set -euo pipefail
cd "$(dirname "$0")/.."
RAY_VERSION=2.40.0
venv=target/venv-scale
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
if ! "$py" -c "import ray, tqdm, sys; sys.exit(ray.__version__ != '$RAY_VERSION')" 2>/dev/null; then
  "$py" -m pip install -q --disable-pip-version-check "ray[data]==$RAY_VERSION" tqdm
fi
echo "ray[data] $RAY_VERSION ready in $venv"
