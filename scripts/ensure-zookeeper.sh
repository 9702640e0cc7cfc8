#!/usr/bin/env bash
# Makes sure ZooKeeper is installed: the cluster tests (chcluster/) start a
# private standalone ZooKeeper as a child process beside three
# clickhouse-server processes (no system service needed).
set -euo pipefail

jar="${TRIPLINE_ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}"
if [ -f "$jar" ] && command -v java >/dev/null 2>&1; then
  exit 0
fi

echo "ZooKeeper is not installed; installing Debian's zookeeper package..." >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No apt-get here. Install ZooKeeper 3.x and a Java runtime, and set TRIPLINE_ZOOKEEPER_JAR to its jar." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Not root and no sudo: run 'apt-get install -y zookeeper' as root." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Only the jars are used; the package's service is never started.
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq zookeeper >/dev/null; then
  echo "apt-get could not install zookeeper. Install it by hand (apt-get install -y zookeeper)." >&2
  exit 1
fi
echo "ZooKeeper installed: $jar" >&2
