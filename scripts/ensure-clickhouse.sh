#!/usr/bin/env bash
# Makes sure a ClickHouse server binary is installed: tests and the demo start
# a private clickhouse-server as a child process (no system service needed).
set -euo pipefail

if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || command -v clickhouse >/dev/null 2>&1; then
  exit 0
fi

echo "ClickHouse is not installed; installing clickhouse-server and clickhouse-client from Debian packages..." >&2
if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
No apt-get here. Install ClickHouse yourself (https://clickhouse.com/docs/install), make
clickhouse-server and clickhouse-client available on PATH, or point the demo at a running
server with: tripline demo --clickhouse HOST:9000
MSG
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Not root and no sudo: run 'apt-get install -y clickhouse-server clickhouse-client' as root." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package's service is not needed (and cannot start in containers); only its binary is.
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; then
  echo "apt-get could not install clickhouse-server. Install it by hand, or run: tripline demo --clickhouse HOST:9000" >&2
  exit 1
fi
echo "ClickHouse installed: $(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)" >&2
