#!/usr/bin/env bash
# The whole test suite, set-up included: Python packages from requirements-dev.txt, Debian's
# Chromium and ChromeDriver for the browser test (never a browser download), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
export HAN_DATA=${HAN_DATA:-$(cd .. && pwd)/shared/data}
python -m pytest "$@"
