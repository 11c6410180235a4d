#!/bin/bash
# capture-seccomp.sh: SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=,
# SystemCallLog=, RestrictAddressFamilies=, RestrictNamespaces=, Personality=, LockPersonality=,
# MemoryDenyWriteExecute=, RestrictRealtime=, RestrictSUIDSGID= under REAL systemd 252
# (sd-oracle): what `show` prints for the units of seccomp-units/ and Debian's redis-server,
# with -p, without -p, and what `systemd-analyze verify` warns about bad values.
#   tests/data/oracle/capture-seccomp.sh > tests/data/oracle/capture-seccomp-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
P=SystemCallFilter,SystemCallArchitectures,SystemCallErrorNumber,SystemCallLog,Personality,LockPersonality,RestrictAddressFamilies,MemoryDenyWriteExecute,RestrictRealtime,RestrictSUIDSGID,RestrictNamespaces
K='^(SystemCall[A-Za-z]*|Personality|LockPersonality|RestrictAddressFamilies|MemoryDenyWriteExecute|RestrictRealtime|RestrictSUIDSGID|RestrictNamespaces)='
"$sdo" up >&2 || exit 1
for f in "$here"/seccomp-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for f in "$here"/seccomp-units/*.service redis-server.service; do
    u=$(basename "$f")
    echo "### $u"
    echo
    cap systemctl show "$u" -p "$P"
    cap sh -c "systemctl show $u | grep -E '$K'"
done
echo "## Packaged units with seccomp settings"
echo
cd /lib/systemd/system
for u in $(grep -l -E '^(SystemCallFilter|SystemCallLog|RestrictAddressFamilies|RestrictNamespaces|SystemCallArchitectures|Personality)=' *.service); do
    [ -L "$u" ] && continue
    case "$u" in *@.service) continue ;; esac
    # masked in the oracle (sd-oracle's MASKED_UNITS): 252 shows a masked unit's defaults
    [ "$("$sdo" run systemctl show -p LoadState --value "$u")" = masked ] && continue
    echo "### packaged $u"
    echo
    cap systemctl show "$u" -p "$P"
done
cd "$here"
echo "## systemd-analyze verify"
echo
units=$(for f in "$here"/seccomp-units/*.service; do printf ' /etc/systemd/system/%s' "$(basename "$f")"; done)
cap systemd-analyze verify $units
echo "## Shutdown"
echo
"$sdo" down >&2
