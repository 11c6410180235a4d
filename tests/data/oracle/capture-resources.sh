#!/bin/bash
# capture-resources.sh: REAL systemd 252's unit_log_resources() line ("Consumed ... CPU
# time.") and where it falls: after a stop job's "Stopped", a restart's, an automatic
# restart's; none for a unit that used under 1 s of CPU.
#   tests/data/oracle/capture-resources.sh > tests/data/oracle/capture-resources-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
for f in "$here"/resources-units/*; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
cap systemctl start res-burn.service res-idle.service
cap sh -c 'until journalctl -u res-burn.service -o cat | grep -q burnt; do sleep 0.1; done'
cap systemctl restart res-burn.service
cap sh -c 'until [ "$(journalctl -u res-burn.service -o cat | grep -c burnt)" = 2 ]; do sleep 0.1; done'
cap systemctl stop res-burn.service res-idle.service
cap journalctl -u res-burn.service -u res-idle.service -o cat --no-pager
cap systemctl start res-fail.service
cap sh -c 'until systemctl is-failed -q res-fail.service; do sleep 0.2; done'
cap journalctl -u res-fail.service -o cat --no-pager
cap journalctl -u res-burn.service -o verbose --no-pager -g Consumed --output-fields=MESSAGE_ID,PRIORITY
"$sdo" down >&2
