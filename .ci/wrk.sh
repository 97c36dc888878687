#!/usr/bin/env bash
# wrk for the day benchmark's Lua script test in tests/bench: Debian's `wrk`, installed
# when absent (as root, or through passwordless sudo). The benchmark itself runs without
# it unless asked for `--generator wrk`.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: wrk is missing and apt-get is not available to install it" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo -n"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
