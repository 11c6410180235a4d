#!/bin/bash
# capture-seccomp-exec.sh: what a command may do under systemd 252's seccomp settings
# (RestrictAddressFamilies=, MemoryDenyWriteExecute=, RestrictRealtime=, RestrictSUIDSGID=,
# RestrictNamespaces=, LockPersonality=, ProtectHostname=, ProtectKernelLogs=, ProtectClock=,
# PrivateUsers=, NoExecPaths=, ExecPaths=, DeviceAllow=, DevicePolicy=,
# SystemCallFilter=, SystemCallErrorNumber=, implied NoNewPrivileges=) under REAL systemd
# 252 (sd-oracle): each sec-*.service runs seccomp-exec/sec-probe.py with its checks.
#   tests/data/oracle/capture-seccomp-exec.sh > tests/data/oracle/capture-seccomp-exec-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
P=Result,ExecMainCode,ExecMainStatus
"$sdo" up >&2 || exit 1
"$sdo" cp-in "$here/seccomp-exec/sec-probe.py" /usr/local/bin/ >/dev/null
for f in "$here"/seccomp-exec/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for f in "$here"/seccomp-exec/*.service; do
    u=$(basename "$f")
    echo "### $u"
    echo
    cap systemctl start "$u"
    cap systemctl show "$u" -p "$P"
    cap journalctl -u "$u" -o cat --no-pager
done
echo "## Shutdown"
echo
"$sdo" down >&2
