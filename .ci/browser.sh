#!/usr/bin/env bash
# The browser of the browser checks (tests/clients/test_insights_page.py): Debian's
# Chromium at /usr/bin/chromium, driven by playwright-core (never Playwright's own
# browser downloads). Installs it when it is missing; needs root and apt sources.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: /usr/bin/chromium is missing and apt-get is not available to install it" >&2
  exit 1
fi
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
