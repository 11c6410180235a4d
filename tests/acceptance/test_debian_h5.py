"""System daemons of Debian (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run: `iso` of test_debian_system_services). What each one exercises:

- upower: Type=dbus with BusName=, the system bus socket-activated through dbus.socket,
  ProtectSystem=strict with ReadWritePaths= and StateDirectory=, PrivateTmp=,
  CapabilityBoundingSet= empty; a D-Bus property read as the probe.
- sysstat: Type=oneshot with RemainAfterExit=yes (`active (exited)`), whose restart stops
  inside the call: systemd 252 logs "Stopped", then "Stopping...", then one "Starting..."
  (pidone logged "Starting..." twice); sysstat-collect.timer (OnCalendar=*:00/10) and the
  oneshot it triggers.

Downloads (bookworm, --no-install-recommends): upower with libupower-glib3 about 0.12 MB
(udev and dbus are usually there), sysstat about 0.6 MB.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    iso,
    no_reload,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso"]  # the fixture, imported so that pytest finds it here

_UPOWER = (
    "dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.UPower",
    "/org/freedesktop/UPower", "org.freedesktop.DBus.Properties.Get",
    "string:org.freedesktop.UPower", "string:DaemonVersion",
)  # fmt: skip


def test_upower_type_dbus_in_its_sandbox(iso: Callable[[], Iso]) -> None:
    """upower.service: Type=dbus (started once org.freedesktop.UPower is on the bus, which
    dbus.socket brings up), ProtectSystem=strict, StateDirectory=upower; no ExecReload=."""
    require("upower", "dbus")
    d = iso()
    start(d, "upower")
    assert d.state("dbus.service") == "active/running"
    reply = d.inside(*_UPOWER)
    assert re.search(r'variant\s+string "\d', reply.stdout), reply.stdout + reply.stderr
    assert "has no bus" not in d.journal("-u", "upower")
    assert d.exists("/var/lib/upower")  # StateDirectory=
    status_lists(d, "upower", "upowerd")
    no_reload(d, "upower")
    restart_new_main(d, "upower")
    assert "variant" in d.inside(*_UPOWER).stdout
    stop_all_gone(d, "upower", keep=("dbus-daemon", "systemd-logind", "polkitd"))
    assert d.cli("stop", "dbus.socket", "dbus.service").returncode == 0


def _journal_lines(d: Iso, unit: str) -> list[str]:
    """The messages (after `host name[pid]: `) of `pidone journal -u UNIT`."""
    return [line.split("]: ", 1)[1] for line in d.journal("-u", unit).splitlines() if "]: " in line]


def test_sysstat_oneshot_restart_and_its_timer(iso: Callable[[], Iso]) -> None:
    """sysstat.service (Type=oneshot, RemainAfterExit=yes, ExecStart=sa1 --boot) and
    sysstat-collect.timer with the oneshot it starts."""
    require("sysstat")
    d = iso()
    began = time.time()
    r = d.cli("start", "sysstat")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("sysstat.service") == "active/exited"
    day = time.strftime("%d")
    st = os.stat(f"/var/log/sysstat/sa{day}")  # /var/log is the host's
    assert st.st_mtime >= began - 1  # sa1 --boot wrote its restart record
    text = d.cli("status", "sysstat").stdout
    assert "Active: active (exited)" in text, text
    assert re.search(
        r"Process: \d+ ExecStart=/usr/lib/sysstat/sa1 --boot \(code=exited, status=0/SUCCESS\)",
        text,
    )
    r = d.cli("restart", "sysstat")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("sysstat.service") == "active/exited"
    desc = "sysstat.service - Resets System Activity Logs"
    assert _journal_lines(d, "sysstat")[2:] == [
        "sysstat.service: Deactivated successfully.",
        f"Stopped {desc}.",
        f"Stopping {desc}...",
        f"Starting {desc}...",
        f"Finished {desc}.",
    ]
    assert d.cli("stop", "sysstat").returncode == 0
    assert d.state("sysstat.service") == "inactive/dead"
    # the timer: waiting for its next */10 minute; its service runs `sa1 1 1` and ends
    r = d.cli("start", "sysstat-collect.timer")
    assert r.returncode == 0, r.stdout + r.stderr
    timer = d.cli("status", "sysstat-collect.timer").stdout
    assert "Active: active (waiting)" in timer, timer
    assert re.search(r"Trigger: \w{3} \d{4}-\d\d-\d\d \d\d:\d0:00 ", timer), timer
    r = d.cli("start", "sysstat-collect.service")
    assert r.returncode == 0, r.stdout + r.stderr
    info = d.status("sysstat-collect.service")
    assert (info["active"], info["sub"], info["result"]) == ("inactive", "dead", "success")
    assert d.cli("stop", "sysstat-collect.timer").returncode == 0
    stop_all_gone(d, "sysstat")
