#!/usr/bin/env bash
# The browser of the client checks: Debian's Chromium, installed when absent (as root, or
# through passwordless sudo). playwright-core drives it; Playwright's own browser
# downloads are never used.
set -euo pipefail

for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: Chromium is missing and apt-get is not available to install it" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo -n"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
