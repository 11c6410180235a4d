#!/bin/bash
# capture-ipaccess.sh: IPAddressAllow= and IPAddressDeny= as REAL systemd 252 shows them
# (in_addr_prefixes_reduce(), shortcuts), for the units in ip-units/ and packaged ones.
#   tests/data/oracle/capture-ipaccess.sh > tests/data/oracle/capture-ipaccess-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
for f in "$here"/ip-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for f in "$here"/ip-units/*.service; do
    cap systemctl show "$(basename "$f")" -p IPAddressAllow,IPAddressDeny
    cap sh -c "systemctl show $(basename "$f") | grep ^IPAddress"
done
for u in systemd-logind upower cron; do
    cap systemctl show "$u.service" -p IPAddressAllow,IPAddressDeny
done
"$sdo" down >&2
