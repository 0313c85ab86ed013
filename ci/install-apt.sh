#!/usr/bin/env bash
# The Debian packages .ci/run needs, installed when one is missing (CI runs
# as root; elsewhere through sudo):
#   cmake, g++, nlohmann-json3-dev — the C++ adapter kit (adapters/cpp/),
#     whose example tests/integration/cpp_adapter_kit.rs runs;
#   zstd     — tests/integration/named_implementations.rs's stand-in;
#   chromium — tests/integration/trace_browser.rs: the cost map in a real browser.
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
[ -f /usr/include/nlohmann/json.hpp ] || need+=(nlohmann-json3-dev)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${#need[@]}" -eq 0 ]; then
  echo "apt packages: all present"
  exit 0
fi
echo "installing ${need[*]}"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
