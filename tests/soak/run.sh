#!/usr/bin/env bash
# run.sh — the soak (issue 8): consilium-load with churn against the gateway
# for a long while; the gateway's RSS and open descriptors sampled every
# minute, then a clean shutdown, under LeakSanitizer when the gateway is an
# ASan build (make SANITIZE=address,undefined build → build-san/).
#
#   tests/soak/run.sh [--minutes 30] [--consults 10] [--churn 1] [--gateway BIN] [--load BIN] [--out DIR]
#
# Finished consults leave the engine's memory after consult.retain, which is
# set to 60 s here, so that steady churn reaches a steady state within the run
# (with the default 24 h every ended consult would be held, by design).
# ASan's quarantine is switched off so RSS reflects the gateway's own memory.
# Prints the samples and a verdict; exit 0 when the load tool saw every
# consult ready, the gateway exited 0 (no leak reported) and the descriptors
# came back to where they started.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MINUTES=30 CONSULTS=10 CHURN=1
GATEWAY=$ROOT/build-san/consilium LOAD=$ROOT/build/consilium-load OUT=$(mktemp -d /tmp/consilium-soak.XXXX)
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;; --consults) CONSULTS=$2; shift 2 ;; --churn) CHURN=$2; shift 2 ;;
    --gateway) GATEWAY=$2; shift 2 ;; --load) LOAD=$2; shift 2 ;; --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--consults N] [--churn R] [--gateway BIN] [--load BIN] [--out DIR]" >&2; exit 2 ;;
  esac
done
for b in "$GATEWAY" "$LOAD"; do [ -x "$b" ] || { echo "soak: $b not built" >&2; exit 2; }; done
mkdir -p "$OUT/data"
PORT=$((20000 + RANDOM % 20000))
# The gateway on CPU 0 and the tool on CPU 1 (taskset execs: $! is the gateway).
PIN0=() PIN1=()
if [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0) PIN1=(taskset -c 1); fi

ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
  "${PIN0[@]}" "$GATEWAY" --data-dir "$OUT/data" --port "$PORT" --set media.workers=1 \
  --set media.addresses=127.0.0.1 --set consult.retain=60s --set log.level=warn \
  > "$OUT/gateway.log" 2> "$OUT/gateway.err" &
GW=$!
for _ in $(seq 100); do [ -s "$OUT/data/jwt-secret" ] && break; sleep 0.1; done
sleep 1
fds() { ls "/proc/$GW/fd" 2>/dev/null | wc -l; }
rss() { awk '/VmRSS/{print $2}' "/proc/$GW/status" 2>/dev/null; }
FD0=$(fds)

"${PIN1[@]}" "$LOAD" --url "ws://127.0.0.1:$PORT/ws" --secret "$OUT/data/jwt-secret" \
  --consults "$CONSULTS" --churn "$CHURN" --warmup 5 --duration $((MINUTES * 60)) \
  --setup-timeout 60 --server-pid "$GW" --json "$OUT/load.json" > "$OUT/load.txt" 2>&1 &
LD=$!
echo "minute rss_kib fds" | tee "$OUT/samples.txt"
m=0
while kill -0 "$LD" 2>/dev/null; do
  echo "$m $(rss) $(fds)" | tee -a "$OUT/samples.txt"
  for _ in $(seq 60); do kill -0 "$LD" 2>/dev/null || break; sleep 1; done
  m=$((m + 1))
done
wait "$LD"; LOAD_RC=$?
sleep 65                                      # the last consults leave memory
echo "after $(rss) $(fds)" | tee -a "$OUT/samples.txt"
FD1=$(fds)
kill -TERM "$GW"; wait "$GW"; GW_RC=$?
grep -E "^(setup|window|churn|result)|packets sent|lost" "$OUT/load.txt"
echo "soak: load tool exit $LOAD_RC, gateway exit $GW_RC, descriptors $FD0 at start, $FD1 after the load; files in $OUT"
grep -m5 -E "LeakSanitizer|ERROR: AddressSanitizer|runtime error" "$OUT/gateway.err" || true
[ "$LOAD_RC" -eq 0 ] && [ "$GW_RC" -eq 0 ] && [ "$FD1" -le $((FD0 + 2)) ]
