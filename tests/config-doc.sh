#!/usr/bin/env bash
# config-doc.sh — docs/CONFIG.md must list exactly what `consilium config`
# prints. `config-doc.sh BIN --write` regenerates it; without --write it checks.
set -eu
bin=$1
gen() {
  cat <<'HEAD'
# Configuration

Every key the gateway accepts, with its default: this is the output of
`consilium config` on a default install (`make config-doc` regenerates it; `make test`
fails when it is out of date).

Settings apply in this order: built-in defaults, then the file given with
`--config FILE` (lines of `key = value`; `#` starts a comment), then each
`--set key=value` and shortcut option (`--port`, `--listen`, `--data-dir`,
`--insecure`, `--demo`, `--log-json`) in command-line order. Durations are
written `250ms`, `30s`, `10m`, `2h`, `7d` (a bare number is seconds). An unknown
key or a bad value stops the gateway with a message naming the file and line.

```ini
HEAD
  "$bin" config
  echo '```'
}
if [ "${2:-}" = "--write" ]; then gen > docs/CONFIG.md; exit 0; fi
if gen | diff -u docs/CONFIG.md - ; then echo "config-doc: 1 passed, 0 failed"; else
  echo "config-doc: docs/CONFIG.md is out of date: run make config-doc"; echo "config-doc: 0 passed, 1 failed"; exit 1; fi
