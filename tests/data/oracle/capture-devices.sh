#!/bin/bash
# capture-devices.sh: DevicePolicy= and DeviceAllow= as REAL systemd 252 shows them after
# unit_patch_contexts() (PrivateDevices= -> "closed", ProtectClock= -> char-rtc r), for the
# units in device-units/ and packaged ones; markdown as the other capture-*.sh.
#   tests/data/oracle/capture-devices.sh > tests/data/oracle/capture-devices-252.md
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/capture-lib.sh"  # sdo, errf, cap()
"$sdo" up >&2 || exit 1
for f in "$here"/device-units/*.service; do
    "$sdo" cp-in "$f" /etc/systemd/system/ >/dev/null
done
cap systemctl daemon-reload
for f in "$here"/device-units/*.service; do
    cap systemctl show "$(basename "$f")" -p DevicePolicy,DeviceAllow
done
for u in redis-server spamd systemd-logind systemd-timedated cron; do
    cap systemctl show "$u.service" -p DevicePolicy,DeviceAllow
done
"$sdo" down >&2
