#!/bin/sh
# System packages the test suite needs beyond Python: headless Chromium for tests/test_report_browser.py.
# Idempotent and quiet: does nothing when chromium is already on PATH. Needs root (or sudo) and apt-get.
set -eu

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: apt-get not found; install Chromium by hand (needed by tests/test_report_browser.py)" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1
