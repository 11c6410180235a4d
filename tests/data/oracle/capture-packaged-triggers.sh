#!/bin/bash
# capture-packaged-triggers.sh: Debian's packaged sockets, timers and paths (those installed on
# this host) started, shown and stopped under REAL systemd 252 (sd-oracle), for comparison
# with pidone (tests/acceptance/test_packaged_triggers.py). Run as root:
#   tests/data/oracle/capture-packaged-triggers.sh > tests/data/oracle/capture-packaged-triggers-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
export LANG=C.UTF-8
UNITS="cups.path cups.socket acpid.path acpid.socket ssh.socket uuidd.socket rpcbind.socket
avahi-daemon.socket saned.socket approx.socket docker.socket pcscd.socket beanstalkd.socket
libvirtd.socket libvirtd-ro.socket virtlockd.socket fcgiwrap.socket epmd.socket dovecot.socket
mpd.socket tangd.socket gpsd.socket dm-event.socket nut-driver-enumerator.path
logrotate.timer man-db.timer dpkg-db-backup.timer phpsessionclean.timer sysstat-collect.timer
anacron.timer exim4-base.timer fwupd-refresh.timer spamassassin-maintenance.timer
apt-daily.timer apt-daily-upgrade.timer"
P=Id,LoadState,ActiveState,SubState,Result,UnitFileState,Triggers,Listen,Accept,SocketMode,SocketUser,SocketGroup,DirectoryMode,Symlinks,FileDescriptorName,RemoveOnStop,PassCredentials,MaxConnections,TriggerLimitBurst,NAccepted,Unit,TimersMonotonic,TimersCalendar,Persistent,RandomizedDelayUSec,AccuracyUSec,FixedRandomDelay,WakeSystem,RemainAfterElapse,Paths,MakeDirectory,After,Wants,Requires,Conflicts
mkdir -p "$here/packaged-units"  # the unit files as captured, for the tests
for u in $UNITS; do cp "/lib/systemd/system/$u" "$here/packaged-units/"; done
"$sdo" up >&2 || exit 1
echo "# Packaged Debian sockets, timers and paths under systemd 252 (sd-oracle)"
echo
echo "Made by capture-packaged-triggers.sh (LANG=C.UTF-8, stdout a pipe). Each unit is started,"
echo "shown (is-active, status, show -p), then all are stopped and shown again."
echo
for u in $UNITS; do
    echo "## $u"
    echo
    cap systemctl start "$u"
    cap systemctl is-active "$u"
    cap systemctl status "$u" --no-pager -n 5
    cap systemctl show "$u" -p "$P"
done
echo "## Stopped"
echo
for u in $UNITS; do
    echo "### $u"
    echo
    cap systemctl stop "$u"
    cap systemctl status "$u" --no-pager -n 5
done
"$sdo" down >&2
