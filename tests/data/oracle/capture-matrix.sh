#!/bin/bash
# capture-matrix.sh: the status/show/list-units state matrix under REAL systemd 252
# (sd-oracle), printed as markdown in the format of capture-demo-252.md.
#   tests/data/oracle/capture-matrix.sh > tests/data/oracle/capture-matrix-252.md
# Boots the oracle, installs matrix-units/, drives every state, always shuts down.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()

quiet() { "$sdo" run "$@" >/dev/null 2>&1; }

RT=Id,Description,LoadState,LoadError,SourcePath,Transient,FreezerState,RuntimeMaxUSec,ActiveEnterTimestamp,ActiveExitTimestamp,InactiveEnterTimestamp,InactiveExitTimestamp,ExecMainStartTimestamp,ExecMainExitTimestamp,ExecCondition,ExecStartPre,ExecStart,ExecStartPost,ExecReload,ExecStop,ExecStopPost,StatusErrno,Listen,NextElapseUSecRealtime,ActiveState,SubState,Result,MainPID,ControlPID,ExecMainPID,ExecMainCode,ExecMainStatus,NRestarts,StatusText,UnitFileState,UnitFilePreset,FragmentPath,DropInPaths,TriggeredBy,Triggers,Documentation,TasksMax,TasksCurrent,MemoryCurrent,CPUUsageNSec,ControlGroup

report() {   # report UNIT: the captures for one state
    local u=$1
    echo "### $u"
    echo
    cap systemctl is-active "$u"
    cap systemctl is-failed "$u"
    cap systemctl status "$u" --no-pager
    cap systemctl show "$u" -p "$RT"
}

"$sdo" up >&2 || exit 1
echo "## Setup"
echo
for f in "$here"/matrix-units/*.service "$here"/matrix-units/*.socket "$here"/matrix-units/*.timer; do
    case $f in
    */m-masked.service) "$sdo" cp-in "$f" /lib/systemd/system/ >/dev/null ;;  # mask needs /etc free
    *) "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null ;;
    esac
done
quiet mkdir -p /etc/systemd/system/m-run.service.d
for f in "$here"/matrix-units/m-run.service.d/*.conf; do
    "$sdo" cp-in "$f" /etc/systemd/system/m-run.service.d/ >/dev/null
done
quiet mkdir -p /run/systemd/system/m-run.service.d
quiet sh -c 'printf "[Service]\nEnvironment=C=3\n" > /run/systemd/system/m-run.service.d/30-c.conf'
cap systemctl daemon-reload
cap systemctl enable m-run.service
cap systemctl mask m-masked.service
echo "## Start everything"
echo
for u in m-run m-exited m-oneshot-ok m-fail-code m-fail-signal m-fail-exec m-startlimit m-autorestart m-status m-sock.socket m-timer.timer m-badsetting m-masked m-fail-timeout; do
    cap systemctl start "$u"
done
cap systemctl start --no-block m-startpre.service
cap systemctl start --no-block m-fail-lsb.service
cap systemctl start m-stopping.service
cap systemctl stop --no-block m-stopping.service
cap sleep 2
echo "## States"
echo
for u in m-run.service m-exited.service m-oneshot-ok.service m-fail-code.service m-fail-lsb.service \
    m-fail-signal.service m-fail-exec.service m-fail-timeout.service m-startlimit.service \
    m-autorestart.service m-inactive.service m-masked.service m-nodesc.service m-badsetting.service \
    m-startpre.service m-stopping.service m-status.service m-sock.socket m-sock.service \
    m-timer.timer m-timer.service does-not-exist.service; do
    report "$u"
done
echo "## Socket-activated service running"
echo
cap systemctl start m-sock.service
cap systemctl status m-sock.service --no-pager
cap systemctl status m-sock.socket --no-pager
echo "## Variants"
echo
cap systemctl status m-fail-code.service m-exited.service does-not-exist.service m-inactive.service --no-pager
cap systemctl status m-inactive.service m-masked.service --no-pager
cap systemctl status --no-pager -n 0 m-run.service
cap systemctl status --no-pager --lines=2 m-run.service
cap systemctl status --no-pager -l m-run.service
cap systemctl status --no-pager 'm-fail-*'
cap env LANG=C systemctl status --no-pager m-fail-code.service m-run.service m-inactive.service
cap sh -c 'systemctl status --no-pager $(systemctl show -p MainPID --value m-exited.service m-run.service | tail -1)'
cap systemctl show m-run.service
cap systemctl show m-fail-code.service
cap systemctl show --no-pager does-not-exist.service
cap systemctl show -p MainPID --value m-run.service
cap systemctl is-active m-run.service m-inactive.service
cap systemctl is-active m-inactive.service m-fail-code.service
cap systemctl is-active -q m-inactive.service
cap systemctl is-failed m-run.service m-fail-code.service
echo "## list-units"
echo
cap systemctl list-units --no-pager
cap systemctl list-units --no-pager --all
cap systemctl list-units --no-pager --type=service
cap systemctl list-units --no-pager --type=service --all
cap systemctl list-units --no-pager --failed
cap systemctl list-units --no-pager --state=failed,activating
cap systemctl list-units --no-pager --plain --type=service
cap systemctl list-units --no-pager --no-legend --type=service
cap systemctl list-units --no-pager 'm-*'
cap systemctl list-units --no-pager --all 'm-*'
cap systemctl list-units --no-pager --all 'nothing-*'
cap systemctl list-units --no-pager --type=socket,timer
cap systemctl list-units --no-pager --legend=no --plain m-run.service
cap systemctl list-unit-files --no-pager 'm-*'
echo "## Manager overview"
echo
cap systemctl status --no-pager
quiet systemctl kill --signal=KILL m-stopping.service
echo "## Shutdown"
echo
"$sdo" down >&2
