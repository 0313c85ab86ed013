# Sourced by .ci/run: network-bound installs (apt, pip) run in the background
# while cargo builds (CPU-bound); each later step waits for the job it needs.
#
#   bg_start NAME CMD…   starts CMD, its output in target/ci-background/NAME.log
#   bg_wait NAME         waits for it; on failure prints its log and exits 1
#
# A job's log is printed when it is waited for, so the CI log shows every
# step's output (after the step, not interleaved with cargo's).
bg_dir=target/ci-background
mkdir -p "$bg_dir"
declare -A bg_pid bg_started
bg_start() {
  local name=$1; shift
  bg_started[$name]=$SECONDS
  set -m   # the job in its own process group: bg_stop ends it with its children
  (
    started=$SECONDS rc=0
    "$@" || rc=$?
    echo "($name: exit $rc after $((SECONDS - started)) s)"
    exit "$rc"
  ) >"$bg_dir/$name.log" 2>&1 </dev/null &
  bg_pid[$name]=$!
  set +m
  echo "background job $name started: $*"
}
bg_wait() {
  local name=$1 rc=0
  wait "${bg_pid[$name]}" || rc=$?
  unset "bg_pid[$name]"
  echo "background job $name: waited for at $((SECONDS - ${bg_started[$name]})) s after its start; its log:"
  sed 's/^/  | /' "$bg_dir/$name.log"
  if [ "$rc" -ne 0 ]; then
    echo "background job $name failed (exit $rc): see its log above ($bg_dir/$name.log)" >&2
    exit 1
  fi
}
# Jobs still running when .ci/run exits (a step failed) are stopped.
bg_stop() {
  local name
  for name in "${!bg_pid[@]}"; do
    kill -- "-${bg_pid[$name]}" 2>/dev/null || true
  done
}
trap bg_stop EXIT
