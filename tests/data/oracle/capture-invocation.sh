#!/bin/bash
# capture-invocation.sh: when systemd 252 keeps or clears InvocationID= (stop, failure,
# reset-failed), and which journal fields carry it for a socket's own processes
# (_SYSTEMD_INVOCATION_ID=) and for the manager's messages about it (INVOCATION_ID=).
# Units: trigger-units/. Run as root with the oracle available:
#   tests/data/oracle/capture-invocation.sh > tests/data/oracle/capture-invocation-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
P=Id,ActiveState,SubState,Result,InvocationID
"$sdo" up >&2 || exit 1
for f in "$here"/trigger-units/*; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
echo "# InvocationID= kept or cleared, and its journal fields, under systemd 252 (sd-oracle)"
echo
echo "Units: tests/data/oracle/trigger-units/. Made by capture-invocation.sh."
echo
cap systemctl daemon-reload
echo "## A socket with ExecStartPre=/ExecStopPost="
echo
cap systemctl start iv-pre.socket
cap systemctl show iv-pre.socket -p "$P"
id=$("$sdo" run systemctl show -P InvocationID iv-pre.socket)
cap systemctl status iv-pre.socket --no-pager
cap journalctl --no-pager -o short-iso "_SYSTEMD_INVOCATION_ID=$id"
cap journalctl --no-pager -o short-iso "INVOCATION_ID=$id"
cap journalctl --no-pager -o short-iso "INVOCATION_ID=$id" + "_SYSTEMD_INVOCATION_ID=$id"
cap systemctl stop iv-pre.socket
cap systemctl show iv-pre.socket -p "$P"
cap journalctl --no-pager -o short-iso "_SYSTEMD_INVOCATION_ID=$id"
cap journalctl --no-pager -o short-iso "INVOCATION_ID=$id"
cap journalctl -u iv-pre.socket --no-pager -o short-iso
cap journalctl -u iv-pre.socket --no-pager -o json
echo "## A failed path: ID kept, then reset-failed"
echo
cap systemctl start iv-notdir.path
cap systemctl show iv-notdir.path -p "$P"
cap systemctl reset-failed iv-notdir.path
cap systemctl show iv-notdir.path -p "$P"
echo "## Services for comparison: stopped, failed, reset-failed"
echo
cap systemctl start iv-ok.service
cap systemctl show iv-ok.service -p "$P"
cap systemctl start iv-fail.service
cap systemctl show iv-fail.service -p "$P"
cap systemctl reset-failed iv-fail.service
cap systemctl show iv-fail.service -p "$P"
echo "## A target and a timer stopped while elapsed"
echo
cap systemctl start iv-tgt.target iv-fast.timer
cap sleep 2
cap systemctl show iv-tgt.target iv-fast.timer -p "$P"
cap systemctl stop iv-tgt.target iv-fast.timer
cap systemctl show iv-tgt.target iv-fast.timer -p "$P"
"$sdo" down >&2
