#!/usr/bin/env bash
# `make dist-check`: the install lines of the root README's Install table
# are the ones the bindings' dist checks run verbatim (each reads its own
# README), so the front page never shows an install line nothing tested.
#
# Usage: packaging/check-readme.sh   (from the repository root)
set -euo pipefail
status=0
while IFS= read -r line; do
  case "$line" in
    pip\ install*) readme=bindings/python/README.md ;;
    npm\ install*) readme=bindings/node/README.md ;;
    *) continue ;;
  esac
  grep -qxF "$line" <(sed 's/^ *//' "$readme") \
    || { echo "README.md shows '$line', which $readme (and so dist-check) does not run" >&2; status=1; }
done < <(sed -n '/^## Install$/,/^## [^I]/p' README.md | grep -o '`\(pip\|npm\) install [^`]*`' | tr -d '`')
[ $status = 0 ] && echo "README: the install lines are the tested ones"
exit $status
