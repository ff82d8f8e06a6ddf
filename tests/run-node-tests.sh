#!/usr/bin/env bash
# run-node-tests.sh DIR — runs the node:test files in DIR one file at a time
# (they start gateways and browsers; running them together would only make
# them compete for the two cores). Works with Debian 12's Node 18 and newer.
set -u
cd "$(dirname "$0")"
dir=${1:?usage: run-node-tests.sh DIR}
if node --test-concurrency=1 -e 0 >/dev/null 2>&1; then
  exec node --test --test-concurrency=1 "$dir"/
fi
# Older Node: one process per file, and our own summary line.
pass=0 fail=0
for f in "$dir"/*.test.js; do
  out=$(node --test "$f" 2>&1); rc=$?
  echo "$out" | grep -E '^(not )?ok|^# (pass|fail)' | sed "s|^|$(basename "$f"): |"
  p=$(echo "$out" | sed -n 's/^# pass \([0-9]*\)/\1/p' | tail -1)
  q=$(echo "$out" | sed -n 's/^# fail \([0-9]*\)/\1/p' | tail -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${q:-0}))
  [ $rc -eq 0 ] || { [ "${q:-0}" -gt 0 ] || fail=$((fail + 1)); echo "$out" | tail -40; }
done
echo "$(basename "$dir"): $pass passed, $fail failed"
[ $fail -eq 0 ]
