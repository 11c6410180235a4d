#!/bin/bash
# capture-ipfirewall.sh: what IPAddressAllow=/IPAddressDeny= let a service's packets do under
# REAL systemd 252 (bpf-firewall.c's cgroup programs): each unit in ipfw-units/ runs
# ipfw-probe.py, which sends to and connects to 127.0.0.1 and ::1.
#   tests/data/oracle/capture-ipfirewall.sh > tests/data/oracle/capture-ipfirewall-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
"$sdo" cp-in "$here/ipfw-units/ipfw-probe.py" /usr/local/lib/ipfw-probe.py >/dev/null
for f in "$here"/ipfw-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for f in "$here"/ipfw-units/*.service; do
    u=$(basename "$f")
    cap systemctl start "$u"
    cap journalctl -u "$u" -o cat --no-pager
done
"$sdo" down >&2
