#!/usr/bin/env bash
# run-unit.sh — runs each cmocka unit-test binary given on the command line and
# prints one summary line; exits non-zero if any test failed.
set -u
failed=0 passed=0 bad=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  echo "$out" | grep -E '^\[  (PASSED|FAILED)|^\[==========\]' | sed "s|^|$(basename "$t"): |"
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ]; then bad+=("$(basename "$t")"); echo "$out" | tail -30; [ -z "$f" ] && failed=$((failed + 1)); fi
done
echo "unit: $passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ] || { echo "failing: ${bad[*]}"; exit 1; }
