#!/usr/bin/env bash
# The alarm delivery benchmark of issue 5: notifications through the durable SQLite outbox, the
# dispatcher and the HTTP sender (libcurl) to an in-process HTTP receiver. Builds StratusBench
# (release), runs `StratusBench alarm-delivery`, prints a Markdown report and writes it to
# Benchmarks/results/alarm-delivery-latest.md.
# Usage: bash Benchmarks/alarm-delivery.sh [--notifications N] [--endpoints E] [--round-size R] [--latency-notifications M]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "[alarm-delivery] building release StratusBench" >&2
swift build -c release --product StratusBench 2>&1 | grep -E "error|warning: unre|Build" | tail -5 >&2
BIN="$(swift build -c release --product StratusBench --show-bin-path)/StratusBench"
[ -x "$BIN" ] || { echo "[alarm-delivery] no binary at $BIN" >&2; exit 1; }

mkdir -p Benchmarks/results
OUT=Benchmarks/results/alarm-delivery-latest.md
"$BIN" alarm-delivery "$@" | tee "$OUT"
echo "[alarm-delivery] report written to $OUT" >&2
