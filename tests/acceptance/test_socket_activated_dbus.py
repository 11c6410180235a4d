"""Debian's dbus.socket and dbus.service, unchanged, socket-activated by pidone.

The first D-Bus call on /run/dbus/system_bus_socket starts dbus-daemon (--address=systemd:
takes the listening fd from LISTEN_FDS) and that very call is answered. The daemon runs
isolated (own network namespace, private tmpfs on /run), so the host's /run is untouched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

UNITS = Path("/lib/systemd/system")


def test_first_dbus_call_starts_the_bus_and_is_answered(
    debian_packages: tuple[str, ...], tmp_path: Path
) -> None:
    assert "dbus" in debian_packages
    units = {name: (UNITS / name).read_text() for name in ("dbus.socket", "dbus.service")}
    with NamespaceDaemon(tmp_path / "ns", units, isolated=True) as d:
        assert d.cli("start", "dbus.socket").returncode == 0
        d.wait_state("dbus.socket", "active/listening")
        assert d.state("dbus.service") == "inactive/dead"
        call = subprocess.run(
            ["nsenter", "-t", str(d.pid1), "-m", "-n", "-p", "dbus-send", "--system",
             "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
             "org.freedesktop.DBus.ListNames"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert call.returncode == 0, call.stderr
        assert 'string "org.freedesktop.DBus"' in call.stdout
        info = d.wait_state("dbus.service", "active/running")
        assert info["main_comm"] == "dbus-daemon"
        status = d.cli("status", "dbus.socket").stdout
        assert "Active: active (running)" in status
        assert "Listen: /run/dbus/system_bus_socket (Stream)" in status
        assert d.cli("stop", "dbus.socket", "dbus.service").returncode == 0
        assert d.namespace_processes() == []  # dbus-daemon and everything it started
