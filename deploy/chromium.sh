#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (Playwright drives it by path:
# `playwright install` cannot download browsers here). Idempotent.
exec bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" /usr/bin/chromium chromium fonts-dejavu-core
