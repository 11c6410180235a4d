#!/bin/bash
# count-diff.sh ORACLE_MD PIDONE_MD: lines that differ between a sd-oracle capture and its
# replay through pidone (replay/*.py), after normalize-triggers.sed, leaving out what cannot
# match: 252's hash-ordered dependency lists, CPU figures, durations, remote ports, PIDs,
# and the units sd-oracle masks (apt-daily*). Run from the repository root, e.g.
#   .venv/bin/python tests/data/oracle/replay/packaged.py /tmp/p.md
#   tests/data/oracle/replay/count-diff.sh tests/data/oracle/capture-packaged-triggers-252.md /tmp/p.md
here=$(cd "$(dirname "$0")" && pwd)
norm() {
  sed -E -f "$here/normalize-triggers.sed" "$1" \
  | sed -E 's/127\.0\.0\.1:[0-9]{5}/127.0.0.1:PORT/g; s/(Process|Main PID): [0-9]+/\1: N/' \
  | awk '/^##+ /{skip = ($2 ~ /^apt-daily/)} !skip' | sed -n '/^## /,$p'
}
diff <(norm "$1") <(norm "$2") | grep '^[<>]' \
  | grep -v '^[<>] \(After\|Before\|Requires\|Wants\|Conflicts\|TriggeredBy\)=\|CPU: X\|Duration:' | wc -l
