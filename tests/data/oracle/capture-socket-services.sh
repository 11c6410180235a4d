#!/bin/bash
# capture-socket-services.sh: packaged Debian services that come with a socket (or path),
# started through the service under REAL systemd 252 (sd-oracle): the socket starts first,
# the service's status and the socket's (running), the stop warning ("can still be
# activated by"), the socket listening again. Run as root:
#   tests/data/oracle/capture-socket-services.sh > tests/data/oracle/capture-socket-services-252.md
set -u
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
export LANG=C.UTF-8
SERVICES="cups avahi-daemon rpcbind pcscd beanstalkd epmd dovecot gpsd uuidd"
"$sdo" up >&2 || exit 1
echo "# Packaged services with sockets under systemd 252 (sd-oracle)"
echo
echo "Made by capture-socket-services.sh (LANG=C.UTF-8, stdout a pipe)."
echo
for s in $SERVICES; do
    echo "## $s"
    echo
    cap systemctl start "$s.service"
    cap sleep 1
    cap systemctl status "$s.service" --no-pager -n 4
    cap systemctl status "$s.socket" --no-pager -n 4
    cap systemctl show "$s.service" -p ActiveState,SubState,Result,TriggeredBy,Requires,After
    cap systemctl stop "$s.service"
    cap systemctl status "$s.socket" --no-pager -n 4
    cap systemctl stop "$s.socket"
done
"$sdo" down >&2
