#!/usr/bin/env bash
# Stratus vs VictoriaMetrics on the same data: installs Debian's victoria-metrics when missing,
# builds StratusBench (release), runs it, and prints the table (also in Benchmarks/results/latest.md).
# Usage: bash Benchmarks/run.sh [--quick] [StratusBench compare options…]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v victoria-metrics >/dev/null 2>&1; then
    echo "installing victoria-metrics (Debian package; its service is kept from starting)" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq victoria-metrics
    $SUDO rm -f /usr/sbin/policy-rc.d
    trap - EXIT
fi

swift build -c release --product StratusBench 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -5
BIN="$(swift build -c release --product StratusBench --show-bin-path)/StratusBench"

# Everything StratusBench starts (VictoriaMetrics, the Stratus child) stops with it; this trap
# catches Ctrl-C on the driver itself.
"$BIN" compare --victoria-metrics "$(command -v victoria-metrics)" "$@" &
PID=$!
trap 'kill $PID 2>/dev/null || true' INT TERM
wait $PID
