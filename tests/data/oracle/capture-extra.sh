#!/bin/bash
# capture-extra.sh: conditions, assertions, RuntimeMaxSec, notify ERRNO=, ignored failures
# under REAL systemd 252 (sd-oracle), markdown as capture-matrix.sh prints it.
#   tests/data/oracle/capture-extra.sh > tests/data/oracle/capture-extra-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
RT=Id,Description,LoadState,ActiveState,SubState,Result,MainPID,ControlPID,ExecMainPID,ExecMainCode,ExecMainStatus,StatusText,StatusErrno,UnitFileState,UnitFilePreset,FragmentPath,RuntimeMaxUSec,ActiveEnterTimestamp,ActiveExitTimestamp,InactiveEnterTimestamp,InactiveExitTimestamp,ConditionResult,ConditionTimestamp,AssertResult,AssertTimestamp,ExecStart,ExecStop,CPUUsageNSec,ControlGroup,TasksCurrent,MemoryCurrent
"$sdo" up >&2 || exit 1
for f in "$here"/extra-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for u in x-cond x-assert x-until x-errno x-ignored; do
    cap systemctl start "$u.service"
done
cap systemctl stop x-ignored.service
cap sleep 1
for u in x-cond x-assert x-until x-errno x-ignored; do
    echo "### $u.service"
    echo
    cap systemctl is-active "$u.service"
    cap systemctl status "$u.service" --no-pager
    cap systemctl show "$u.service" -p "$RT"
done
echo "## Shutdown"
echo
"$sdo" down >&2
