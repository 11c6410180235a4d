#!/bin/bash
# capture-triggers.sh: InvocationID= of socket, timer, path, target, slice and mount units, the
# journal fields on their records, path units whose watch cannot be made, and the status/show of
# sockets and timers (several listeners, Accept=yes counts, an elapsed timer) under REAL
# systemd 252 (sd-oracle). Units: trigger-units/. Run as root with the oracle available:
#   tests/data/oracle/capture-triggers.sh > tests/data/oracle/capture-triggers-252.md
# It also writes the units' journal records (journalctl -o json, one object a line) to
# tests/data/oracle/journal-triggers-252.json.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
json=${JSON_OUT:-$here/journal-triggers-252.json}
ok=(iv-sock.socket iv-multi.socket iv-acc.socket iv-tick.timer iv-fast.timer iv-watch.path
    iv-tgt.target iv.slice run-ivmnt.mount)
bad=(iv-notdir.path iv-notdir-mod.path iv-loop.path)
P=Id,ActiveState,SubState,Result,InvocationID
"$sdo" up >&2 || exit 1
for f in "$here"/trigger-units/*; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
echo "# Socket, timer, path, target, slice, mount units under systemd 252 (sd-oracle)"
echo
echo "Units: tests/data/oracle/trigger-units/. Made by capture-triggers.sh."
echo
cap systemctl daemon-reload
cap ln -s /run/iv-loop /run/iv-loop
echo "## Start"
echo
for u in "${ok[@]}" "${bad[@]}"; do
    cap systemctl start "$u"
done
cap bash -c 'for i in 1 2; do exec 3<>/dev/tcp/127.0.0.1/7784; cat <&3; exec 3<&-; done'
cap sleep 2
echo "## Started"
echo
for u in "${ok[@]}" "${bad[@]}"; do
    echo "### $u"
    echo
    cap systemctl show "$u" -p "$P"
    cap systemctl status "$u" --no-pager
done
echo "## Full show"
echo
for u in iv-multi.socket iv-acc.socket iv-fast.timer iv-watch.path iv-notdir.path; do
    cap systemctl show "$u"
done
echo "## Path triggered"
echo
cap touch /run/iv-flag
cap sleep 1
cap systemctl status iv-watch.path --no-pager
cap systemctl show iv-watch.path -p "$P"
echo "## Failed path started again, then reset-failed"
echo
cap systemctl start iv-notdir.path
cap systemctl show iv-notdir.path -p "$P"
cap systemctl reset-failed iv-notdir.path
cap systemctl show iv-notdir.path -p "$P"
cap systemctl status iv-notdir.path --no-pager
echo "## Stop"
echo
for u in "${ok[@]}"; do
    cap systemctl stop "$u"
done
cap systemctl stop iv-watch.service
for u in "${ok[@]}"; do
    echo "### $u stopped"
    echo
    cap systemctl show "$u" -p "$P"
    cap systemctl status "$u" --no-pager
done
echo "## Started again: a new ID"
echo
cap systemctl start iv-sock.socket iv-tick.timer
cap systemctl show iv-sock.socket iv-tick.timer -p "$P"
cap systemctl stop iv-sock.socket iv-tick.timer
echo "## Journal"
echo
for u in "${ok[@]}" "${bad[@]}" iv-watch.service; do
    cap journalctl -u "$u" --no-pager -o short-iso
done
cap journalctl -u iv-sock.socket --no-pager -o verbose
cap journalctl -u iv-notdir.path --no-pager -o verbose
for u in iv-sock.socket iv-tick.timer iv-watch.path iv-tgt.target iv.slice run-ivmnt.mount; do
    id=$("$sdo" run systemctl show -P InvocationID "$u")
    [ -n "$id" ] && cap journalctl --no-pager -o short-iso "_SYSTEMD_INVOCATION_ID=$id"
    [ -n "$id" ] && cap journalctl --no-pager -o short-iso "INVOCATION_ID=$id"
done
echo "## The manager's own lines about the failed watches (no UNIT=)"
echo
cap journalctl --no-pager -o cat _PID=1 -p warning --grep "watch|mkdir"
: > "$json"
for u in "${ok[@]}" "${bad[@]}" iv-watch.service; do
    "$sdo" run journalctl -u "$u" -o json --no-pager -a >> "$json"
done
"$sdo" down >&2
