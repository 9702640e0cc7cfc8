#!/usr/bin/env bash
# Makes sure a Chromium binary is installed: `tripline report --format pdf`
# and the report's PDF test print HTML to PDF with headless Chromium
# (Debian's chromium package; no browser download, no system service).
set -euo pipefail

if [ -n "${TRIPLINE_CHROMIUM:-}" ] && [ -x "${TRIPLINE_CHROMIUM}" ]; then
  exit 0
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi

echo "Chromium is not installed; installing Debian's chromium package..." >&2
if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
No apt-get here. Install Chromium yourself and put it on PATH (as chromium), or point
tripline at it with TRIPLINE_CHROMIUM=/path/to/chromium. Only PDF reports need it:
HTML, CSV and JSON reports need nothing.
MSG
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Not root and no sudo: run 'apt-get install -y chromium' as root." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq chromium >/dev/null; then
  echo "apt-get could not install chromium. Install it by hand, or set TRIPLINE_CHROMIUM." >&2
  exit 1
fi
echo "Chromium installed: $(command -v chromium || echo /usr/bin/chromium)" >&2
