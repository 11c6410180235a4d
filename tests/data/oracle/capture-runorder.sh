#!/bin/bash
# capture-runorder.sh: the order in which REAL systemd 252 runs the jobs one transaction
# queues together (its run queue is a priority queue: unit type, CPUWeight=, Nice=, name).
#   tests/data/oracle/capture-runorder.sh > tests/data/oracle/capture-runorder-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
for f in "$here"/runorder-units/*; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
cap systemctl start ro.target
cap journalctl -o cat --no-pager -u ro.target -u ro-zz.service -u ro-aa.service -u ro-mm.service -u ro-kk.service -u ro-qq.socket
"$sdo" down >&2
