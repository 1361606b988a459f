#!/usr/bin/env bash
# The alarm evaluation benchmark of issue 5: 100,000 alarms of type Any over 100,000 VMs' CPU in a
# real RocksMetricStore (temp dir), one round every 10 s of simulated time. Builds StratusBench
# (release), runs `StratusBench alarms`, prints a Markdown report and writes it to
# Benchmarks/results/alarms-latest.md.
# Usage: bash Benchmarks/alarms.sh [--vms N] [--rounds R] [--period S]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "[alarms] building release StratusBench" >&2
swift build -c release --product StratusBench 2>&1 | grep -E "error|warning: unre|Build" | tail -5 >&2
BIN="$(swift build -c release --product StratusBench --show-bin-path)/StratusBench"
[ -x "$BIN" ] || { echo "[alarms] no binary at $BIN" >&2; exit 1; }

mkdir -p Benchmarks/results
OUT=Benchmarks/results/alarms-latest.md
"$BIN" alarms "$@" | tee "$OUT"
echo "[alarms] report written to $OUT" >&2
