#!/usr/bin/env bash
# PgBouncer for the transaction-pooling tests in tests/pgbouncer: Debian's `pgbouncer`,
# installed when absent (as root, or through passwordless sudo). The tests start their own
# process on a free port; the package's own service is never started or used.
set -euo pipefail

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: PgBouncer is missing and apt-get is not available to install it" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo -n"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
