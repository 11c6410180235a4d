#!/bin/bash
# capture-sandbox.sh: ProtectKernel*=, ProtectControlGroups=, ProtectClock=, ProtectHostname=,
# PrivateNetwork=, PrivateDevices=, ProtectProc= and ProcSubset= under REAL systemd 252 (sd-oracle): what `show` says
# and what each command sees (sandbox-units/sbx-probe.sh), markdown as capture-matrix.sh.
#   tests/data/oracle/capture-sandbox.sh > tests/data/oracle/capture-sandbox-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
P=CapabilityBoundingSet,PrivateDevices,ProtectClock,ProtectKernelTunables,ProtectKernelModules,ProtectKernelLogs,ProtectControlGroups,PrivateNetwork,ProtectHostname,ProtectProc,ProcSubset,RemoveIPC,PrivateTmp,ProtectSystem,ProtectHome,NoNewPrivileges,RestrictSUIDSGID
"$sdo" up >&2 || exit 1
"$sdo" cp-in "$here/sandbox-units/sbx-probe.sh" /usr/local/bin/ >/dev/null
for f in "$here"/sandbox-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
"$sdo" run sh -c 'readlink /proc/1/ns/net > /run/sbx-host-net; readlink /proc/1/ns/uts > /run/sbx-host-uts'
cap systemctl daemon-reload
for u in sbx-kernel sbx-netns sbx-devices sbx-tunables sbx-proc sbx-noaccess sbx-dynamic; do
    echo "### $u.service"
    echo
    cap systemctl start "$u.service"
    cap systemctl show "$u.service" -p "$P"
    cap journalctl -u "$u.service" -o cat --no-pager
done
echo "## Shutdown"
echo
"$sdo" down >&2
