#!/usr/bin/env bash
# The Stratus side of the ingest benchmark alone, for quick A/B runs: generates the fleet's
# VictoriaMetrics JSON-lines files once into a kept directory (reused while the fleet options
# match), then times `StratusBench serve-stratus --exit-after-import` (PipelinedImporter + flush,
# as in the full benchmark) into a fresh store and prints its figures (wall, import/flush, CPU).
# Usage: flock /tmp/stratus-bench.lock bash Benchmarks/ingest.sh [--files-dir DIR] [--runs N] [--perf] [fleet options…]
#   --perf: also records the run with `perf record -g` into DIR/perf.data (report: perf report -i …).
set -euo pipefail
cd "$(dirname "$0")/.."
FILES_DIR="${TMPDIR:-/tmp}/stratus-ingest-files"
RUNS=1
PERF=0
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --files-dir) FILES_DIR="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --perf) PERF=1; shift ;;
        *) ARGS+=("$1"); shift ;;
    esac
done

swift build -c release --product StratusBench 2>&1 | grep -E "error|warning: unre|Build" | tail -5
BIN="$(swift build -c release --product StratusBench --show-bin-path)/StratusBench"
mapfile -t FILES < <("$BIN" write-vm-files --dir "$FILES_DIR" ${ARGS[@]+"${ARGS[@]}"})
FILE_ARGS=()
for f in "${FILES[@]}"; do FILE_ARGS+=(--file "$f"); cat "$f" > /dev/null; done   # warm the page cache, as the full run has

STORE="$(mktemp -d "${TMPDIR:-/tmp}/stratus-ingest-store.XXXXXX")"
trap 'rm -rf "$STORE"' EXIT
for r in $(seq "$RUNS"); do
    rm -rf "$STORE/metrics"
    echo "run $r, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    if [ "$PERF" = 1 ]; then
        perf record -F 999 -e cpu-clock -g -o "$FILES_DIR/perf.data" -- \
            "$BIN" serve-stratus --dir "$STORE" --port 0 --exit-after-import ${ARGS[@]+"${ARGS[@]}"} "${FILE_ARGS[@]}"
    else
        "$BIN" serve-stratus --dir "$STORE" --port 0 --exit-after-import ${ARGS[@]+"${ARGS[@]}"} "${FILE_ARGS[@]}"
    fi
    echo "store on disk: $(du -sb "$STORE/metrics" | cut -f1) bytes" >&2
done
