#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (Playwright drives it by path:
# `playwright install` cannot download browsers here). Idempotent; one apt run at a time.
set -Eeuo pipefail
[ -x /usr/bin/chromium ] && exit 0
[ "$(id -u)" = 0 ] || { echo "chromium.sh: /usr/bin/chromium missing and not root: apt-get install chromium" >&2; exit 1; }
log=${TMPDIR:-/tmp}/backoffice-chromium-apt.log
(
    exec 9>/var/lock/backoffice-apt.lock
    flock -w 1200 9
    if [ ! -x /usr/bin/chromium ]; then
        export DEBIAN_FRONTEND=noninteractive
        echo "[chromium] installing Debian package chromium (one-off)" >&2
        apt-get update -q >"$log" 2>&1 &&
        apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 chromium fonts-dejavu-core >>"$log" 2>&1
    fi
) || { tail -n 30 "$log" >&2; echo "chromium.sh: apt-get install chromium failed" >&2; exit 1; }
[ -x /usr/bin/chromium ]
