#!/usr/bin/env bash
# CI step of the Python binding (called by .ci/run after `cargo test`):
# lints the bindings crate, builds the extension into a venv under target/
# and runs its pytest suite. The build reuses what `cargo test --profile
# checked` compiled (same target/, same profile): only pyo3, numpy and the
# bindings crate are compiled here.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
venv=target/venv-bindings
bash bindings/python/ci-install.sh   # maturin, pytest, numpy (.ci/run started it early)
export PYO3_PYTHON="$PWD/$venv/bin/python"
# Lints of the bindings crate (the root's `cargo clippy` covers only the root package).
cargo clippy --profile checked -p czip-python --all-targets --locked --no-deps -- -D warnings 2>&1
# Build and install into the venv (editable: the package's Python files stay in place).
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop --profile checked --locked -m bindings/python/Cargo.toml 2>&1 | grep -v '^\s*$' | tail -3
built=$SECONDS
"$venv/bin/python" -c "import czip; print('czip', czip.__version__, czip.sra_rne_tte_s32(1234567, 10))"
"$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests
echo "python bindings: build $((built - started)) s, tests $((SECONDS - built)) s"
