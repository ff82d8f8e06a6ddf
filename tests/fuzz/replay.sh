#!/usr/bin/env bash
# replay.sh — replays every fuzz target's corpus (tests/fuzz/corpus/<target>/)
# through the replay build of that target. A crash fails `make test`.
set -u
dir=$1; failed=0; passed=0
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); corpus=tests/fuzz/corpus/${name#fuzz_}
  files=$(find "$corpus" -type f 2>/dev/null | sort)
  if [ -z "$files" ]; then echo "fuzz-replay: $name has no corpus in $corpus"; failed=$((failed+1)); continue; fi
  if echo "$files" | xargs "$bin" >/tmp/replay.$$ 2>&1; then
    echo "fuzz-replay: $name: $(tail -1 /tmp/replay.$$)"; passed=$((passed+1))
  else
    echo "fuzz-replay: $name FAILED"; tail -40 /tmp/replay.$$; failed=$((failed+1))
  fi
done
rm -f /tmp/replay.$$
echo "fuzz-replay: $passed passed, $failed failed"
[ $failed -eq 0 ]
