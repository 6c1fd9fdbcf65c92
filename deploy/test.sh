#!/usr/bin/env bash
# `make test`: lint, start the test profile's infrastructure, run every test, stop what it started.
set -Eeuo pipefail
export BACKOFFICE_PROFILE=test
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$BACKOFFICE_ROOT"

make --no-print-directory lint

already_up=0
if bash deploy/infra.sh status >/dev/null 2>&1; then already_up=1; fi
cleanup() {
    bash deploy/services.sh stop >/dev/null 2>&1 || true
    if [ "$already_up" = 0 ]; then bash deploy/infra.sh stop || true; fi
}
trap cleanup EXIT
bash deploy/infra.sh start

.venv/bin/pytest -p no:cacheprovider "$@"
