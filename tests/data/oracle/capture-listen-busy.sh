#!/bin/bash
# capture-listen-busy.sh: what REAL systemd 252 logs when a socket unit's IP address is
# taken (sla.socket holds 127.0.0.1:7777, then slb.socket asks for it): its bind runs in
# an (sd-listen) helper forked into the socket's cgroup (socket_address_listen_in_cgroup()).
#   tests/data/oracle/capture-listen-busy.sh > tests/data/oracle/capture-listen-busy-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
for f in "$here"/listen-busy-units/*; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
cap systemctl start sla.socket
cap systemctl start slb.socket
cap journalctl -u slb.socket -o short --no-pager
cap systemctl status slb.socket --no-pager
"$sdo" down >&2
