#!/bin/bash
# capture-list-triggers.sh: list-timers and list-sockets of packaged Debian timers and sockets
# under REAL systemd 252 (sd-oracle), with some started. Run as root:
#   tests/data/oracle/capture-list-triggers.sh > tests/data/oracle/capture-list-triggers-252.md
set -u
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
export LANG=C.UTF-8
TIMERS="logrotate.timer man-db.timer dpkg-db-backup.timer phpsessionclean.timer sysstat-collect.timer"
SOCKETS="cups.socket avahi-daemon.socket uuidd.socket mpd.socket tinysshd.socket"
"$sdo" up >&2 || exit 1
echo "# list-timers and list-sockets under systemd 252 (sd-oracle)"
echo
echo "Made by capture-list-triggers.sh (LANG=C.UTF-8, stdout a pipe)."
echo
cap systemctl start $TIMERS $SOCKETS
cap systemctl list-timers --no-pager $TIMERS
cap systemctl list-sockets --no-pager $SOCKETS
cap systemctl list-sockets --no-pager --show-types $SOCKETS
cap systemctl stop logrotate.timer cups.socket
cap systemctl list-timers --all --no-pager $TIMERS
cap systemctl list-sockets --all --no-pager $SOCKETS
"$sdo" down >&2
