#!/bin/bash
# capture-accept-sockets.sh: Debian's Accept=yes sockets under REAL systemd 252 (sd-oracle):
# status of the socket while a connection is open (Triggers: the instance, Connected: 1),
# the instance's status, and after the connection closed. Run as root:
#   tests/data/oracle/capture-accept-sockets.sh > tests/data/oracle/capture-accept-sockets-252.md
set -u
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
export LANG=C.UTF-8
# one connection held open for 3 s while the socket and its instance are shown
HOLD='(exec 3<>/dev/tcp/127.0.0.1/$0; head -n 1 <&3 >/dev/null; sleep 3) & sleep 1.5
systemctl status "$1" --no-pager -n 4; echo "rc=$?"
for u in $(systemctl list-units --plain --no-legend "$2" | cut -d" " -f1); do
  systemctl status "$u" --no-pager -n 4; echo "rc=$?"
  systemctl show "$u" -p Id,ActiveState,SubState,Result,TriggeredBy,Requires,After,Before
done
wait'
"$sdo" up >&2 || exit 1
here=$(cd "$(dirname "$0")" && pwd)  # a template without Description= (trigger-units/)
"$sdo" cp-in "$here/trigger-units/iv-nodesc.socket" /etc/systemd/system/ >/dev/null
"$sdo" cp-in "$here/trigger-units/iv-nodesc@.service" /etc/systemd/system/ >/dev/null
"$sdo" run systemctl daemon-reload
echo "# Accept=yes sockets of Debian packages under systemd 252 (sd-oracle)"
echo
echo "Made by capture-accept-sockets.sh (LANG=C.UTF-8, stdout a pipe)."
echo
for spec in ssh.socket:22:sshd@* tinysshd.socket:22:tinysshd@* iv-nodesc.socket:7786:iv-nodesc@*; do
    IFS=: read -r sock port pattern <<<"$spec"
    echo "## $sock"
    echo
    cap systemctl start "$sock"
    cap bash -c "$HOLD" "$port" "$sock" "$pattern"
    cap sleep 1
    cap systemctl status "$sock" --no-pager -n 4
    cap systemctl show "$sock" -p NAccepted,NConnections,NRefused,Triggers
    cap systemctl stop "$sock" "${sock%.socket}.service"
done
"$sdo" down >&2
