#!/usr/bin/env bash
# Makes sure kcat (librdkafka's command-line client) is installed:
# faults BenchmarkBrokerAlone drives the test broker with it, to measure the
# broker alone on the pipeline's traffic (`make bench-e2e`).
set -euo pipefail

if command -v kcat >/dev/null 2>&1; then
  exit 0
fi

echo "kcat is not installed; installing Debian's kcat package..." >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here. Install kcat (https://github.com/edenhill/kcat) by hand." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Not root and no sudo: run 'apt-get install -y kcat' as root." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq kcat >/dev/null; then
  echo "apt-get could not install kcat. Install it by hand (apt-get install -y kcat)." >&2
  exit 1
fi
echo "kcat installed: $(command -v kcat)" >&2
