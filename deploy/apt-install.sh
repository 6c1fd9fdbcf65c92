#!/usr/bin/env bash
# Installs Debian packages a test needs when the file it checks for is missing (one apt run at a
# time across checkouts; idempotent). Used for Chromium (console browser tests) and SoftHSM2 (the
# contracts service's PKCS#11 sealing test).
#
#   deploy/apt-install.sh <path that must exist afterwards> <package>...
set -Eeuo pipefail
[ $# -ge 2 ] || { echo "usage: apt-install.sh <path> <package>..." >&2; exit 2; }
want=$1; shift
[ -e "$want" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "apt-install.sh: $want missing and not root: apt-get install $*" >&2; exit 1; }
log=${TMPDIR:-/tmp}/backoffice-apt-$1.log
(
    exec 9>/var/lock/backoffice-apt.lock
    flock -w 1200 9
    if [ ! -e "$want" ]; then
        export DEBIAN_FRONTEND=noninteractive
        echo "[apt] installing Debian packages $* (one-off)" >&2
        apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >"$log" 2>&1 || {
            apt-get update -q >>"$log" 2>&1 &&
            apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >>"$log" 2>&1
        }
    fi
) || { tail -n 30 "$log" >&2; echo "apt-install.sh: apt-get install $* failed" >&2; exit 1; }
[ -e "$want" ]
