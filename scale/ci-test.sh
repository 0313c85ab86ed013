#!/usr/bin/env bash
# The scale path's CI test (called by .ci/run): scale/ray_score.py on a local
# 2-CPU Ray cluster, with a worker that dies mid-run (Ray restarts it and
# retries its file), gives the report `czip-conformance score` gives over the
# same files, apart from timings.
#
# Files: the golden v001 level-5 brotli set (the issue's), the upstream
# Python L1 zstd set (files that fail, with their causes) and v000 files
# written by our czip (so both models are covered).
#
# Installs what it needs itself: a venv target/venv-scale with ray[data]
# (pinned: a cp311 manylinux wheel) and tqdm (scale/ci-install.sh), and the
# czip extension (the bindings' CI build reused when there is one, see
# below). Run it after bindings/python/ci-test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
profile="${CZIP_CARGO_PROFILE:-checked}"
models="${CZIP_MODELS_DIR:-$PWD/../shared/models}"
golden="${CZIP_GOLDEN_DIR:-$PWD/../shared/golden}"
venv=target/venv-scale
work=target/scale-ci
export RAY_USAGE_STATS_ENABLED=0

bash scale/ci-install.sh   # ray[data]==2.40.0 and tqdm (.ci/run started it early)
py="$venv/bin/python"
echo "ray[data] ready ($((SECONDS - started)) s)"
# The czip extension, built once per CI run: $CZIP_PY_WHEEL, else the newest
# target/wheels/czip-*.whl (`maturin build --release` in bindings/python),
# else the editable build bindings/python/ci-test.sh made in
# target/venv-bindings (maturin develop: the package stays in
# bindings/python/python, so a .pth reaches it), else a wheel built here.
purelib=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$purelib/czip-bindings-ci.pth"
wheel="${CZIP_PY_WHEEL:-$(ls -t target/wheels/czip-*.whl 2>/dev/null | head -1 || true)}"
if [ -z "$wheel" ] && [ -x target/venv-bindings/bin/python ] && target/venv-bindings/bin/python -c "import czip" 2>/dev/null; then
  echo "$PWD/bindings/python/python" >"$purelib/czip-bindings-ci.pth"
  "$py" -m pip uninstall -q -y czip 2>/dev/null || true
else
  if [ -z "$wheel" ]; then
    "$py" -m pip wheel -q --disable-pip-version-check --no-deps ./bindings/python -w target/wheels
    wheel=$(ls -t target/wheels/czip-*.whl | head -1)
  fi
  "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
fi
"$py" -c "import czip; print('czip', czip.__version__)"
echo "czip extension ready ($((SECONDS - started)) s)"

cargo build -q --profile "$profile" --locked --bins
# Set only now: the cc crate (zstd-sys's build script) reruns when
# SOURCE_DATE_EPOCH changes, and with it zstd, czip and its binaries: a
# full rebuild of what `cargo test` built.
export SOURCE_DATE_EPOCH=1796169599
bin="target/$profile"
rm -rf "$work"
mkdir -p "$work/files/czip-v000-L1"
for t in alice_ch1.txt edge_1byte.txt edge_tok65.txt utf8_demo.txt; do
  "$bin/czip" compress -m "$models/v000_eng.czm" -L 1 -i "$golden/corpus/$t" -o "$work/files/czip-v000-L1/$t.czip"
done
sets=("$golden/files/v001/L5/brotli" "$golden/files/python/L1/zstd" "$PWD/$work/files/czip-v000-L1")

# The reference on one machine.
t0=$SECONDS
set +e
"$bin/czip-conformance" score --impl-name ci --files "${sets[@]}" --models-dir "$models" --corpus "$golden/corpus" --report "$work/score" >"$work/score.out" 2>&1
score_rc=$?
set -e
echo "czip-conformance score: exit $score_rc, $(tail -1 "$work/score.out") ($((SECONDS - t0)) s)"

# The same through Ray, with a worker that dies mid-run (the first actor to
# reach its second file exits; Ray restarts it and retries the file): the
# report must not show it.
ray_run() {  # name, extra environment
  local name=$1; shift
  local t=$SECONDS rc=0
  env "$@" "$py" scale/ray_score.py "${sets[@]}" --impl-name ci --models-dir "$models" --corpus "$golden/corpus" \
      --num-cpus 2 --czip-conformance "$bin/czip-conformance" --report "$work/$name" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  grep -h "files verified" "$work/$name.err" || true
  echo "ray_score.py ($name): exit $rc, $(tail -1 "$work/$name.out") ($((SECONDS - t)) s)"
  [ "$rc" -eq "$score_rc" ] || { echo "ray_score.py exit $rc, score exit $score_rc"; tail -20 "$work/$name.err"; exit 1; }
}
ray_run ray CZIP_RAY_SCORE_TEST_CRASH="$PWD/$work/crashed"
[ -f "$work/crashed" ] || { echo "the crash hook did not fire"; exit 1; }

"$py" - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
def strip(v):  # report::strip_timings: provenance.date, provenance.elapsed_s, every time_us
    if isinstance(v, dict):
        v.pop("time_us", None)
        if isinstance(v.get("provenance"), dict):
            v["provenance"].pop("date", None); v["provenance"].pop("elapsed_s", None)
        for x in v.values(): strip(x)
    elif isinstance(v, list):
        for x in v: strip(x)
    return v
def files(d):
    j = strip(json.load(open(f"{work}/{d}/report.json")))
    md = re.sub(r"^(czip-conformance .*) · [0-9.]+ s", r"\1", open(f"{work}/{d}/report.md").read(), flags=re.M)
    junit = re.sub(r' time="[0-9.]+"', ' time=""', open(f"{work}/{d}/junit.xml").read())
    return j, md, junit
want = files("score")
t = want[0]["totals"]
print(f"score: {t['cases']} files, {t['pass']} pass, {t['fail']} fail, causes {[(c['cause'], c['cases']) for c in want[0].get('causes', [])]}")
ok = True
for d in ("ray",):
    got = files(d)
    for name, a, b in zip(("report.json", "report.md", "junit.xml"), got, want):
        if a != b:
            ok = False
            print(f"{d}/{name} differs from score's")
    print(f"{d}: {'same report as score (apart from timings)' if ok else 'DIFFERS'}")
sys.exit(0 if ok else 1)
PY
echo "scale/ci-test.sh: ok ($((SECONDS - started)) s)"
