#!/usr/bin/env bash
# run.sh BUILD_DIR — the benchmarks (`make bench`), run from the repository root.
#
# Runs every C micro-benchmark built into BUILD_DIR/bench/bench_* (if any:
# bench_relay, CPU per relayed packet; bench_document, ms per conclusion PDF;
# bench_postproc, a 60 s two-member recording to WebM: × real time per core;
# bench_recorder, the recording push → ring → disk cost per packet and per
# recorded second of a consult; bench_floor, the unavoidable work per relayed
# packet), then the signalling benchmark against the real gateway
# (tests/bench/signaling.js): 10,000 held connections, and request →
# accepted latency at 500 requests/s; then the media benchmark
# (tests/bench/media.js): consilium-load against Consilium and Janus side by
# side, each server pinned to CPU 0 and the tool to CPU 1, next to the floor.
# Prints tables; the figures also go to BUILD_DIR/bench/signaling.json and
# BUILD_DIR/bench/media.json. Extra arguments go to signaling.js (e.g.
# --connections 2000 --duration 5); MEDIA_BENCH_ARGS to media.js (e.g.
# "--quick" or "--targets consilium").
set -euo pipefail
BUILD=${1:?usage: tests/bench/run.sh ABSOLUTE_BUILD_DIR [signaling.js options]}
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# Each side of 10,000 connections needs as many descriptors: raise the limit
# as far as we may (the hard limit, when 65536 is not allowed).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench: open files limit $(ulimit -n)"

mkdir -p "$BUILD/bench"
for b in "$BUILD"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done

cd "$ROOT/tests"
[ -d node_modules/ws ] || npm ci --no-audit --no-fund --loglevel=error
echo "== signaling (tests/bench/signaling.js)"
node bench/signaling.js --bin "$BUILD/consilium" --out "$BUILD/bench/signaling.json" "$@"
echo "== media relay, side by side (tests/bench/media.js)"
# shellcheck disable=SC2086  # MEDIA_BENCH_ARGS holds several options
node bench/media.js --build "$BUILD" ${MEDIA_BENCH_ARGS:-}
