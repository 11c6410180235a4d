#!/bin/bash
# capture-list-triggers.sh: list-timers and list-sockets of packaged Debian timers and sockets
# under REAL systemd 252 (sd-oracle), with some started. Run as root:
#   tests/data/oracle/capture-list-triggers.sh > tests/data/oracle/capture-list-triggers-252.md
set -u
sdo=${SDO:-/work/shared/oracle/sd-oracle}
errf=$(mktemp)
trap 'rm -f "$errf"; "$sdo" down >/dev/null 2>&1' EXIT
export LANG=C.UTF-8
cap() {
    local out rc
    out=$("$sdo" run "$@" 2>"$errf")
    rc=$?
    printf '```console\n$ %s\n' "$*"
    [ -n "$out" ] && printf '%s\n' "$out"
    if [ -s "$errf" ]; then
        printf '[stderr]\n%s\n' "$(cat "$errf")"
    fi
    printf '[exit code: %d]\n```\n\n' "$rc"
}
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
