"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged units in an isolated namespace (PID, mount and network; a tmpfs on
/run: `iso` of test_debian_system_services). What each one exercises that no other test does:

- acpid: acpid.path, a packaged path unit (man 5 systemd.path): DirectoryNotEmpty=
  /etc/acpi/events/ waits while the directory is empty, then starts acpid.service, whose
  Requires=acpid.socket hands it /run/acpid.socket as stdin (StandardInput=socket). While
  the directory holds a rule, stopping acpid.service starts it again (path_trigger_notify()
  checks the paths again once the unit is inactive), and `stop` warns that acpid.path and
  acpid.socket can still activate it, as systemctl 252 does. The three units carry
  ConditionVirtualization=!container, which holds nowhere this test runs (Docker, CI
  containers): a drop-in in the daemon's unit directory empties it, and a tmpfs on
  /etc/acpi/events (the namespace's own mount) stands for the rule files.

Downloads (bookworm, --no-install-recommends): acpid about 0.06 MB.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    iso,
    no_reload,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso"]  # the fixture, imported so that pytest finds it here

_ACPID_UNITS = ("acpid.path", "acpid.service", "acpid.socket")


def test_acpid_path_unit_starts_its_service_when_a_rule_appears(
    iso: Callable[[], Iso],
) -> None:
    require("acpid")
    d = iso()
    for unit in _ACPID_UNITS:  # an empty assignment resets the list of conditions
        dropins = d.unit_dir / f"{unit}.d"
        dropins.mkdir()
        (dropins / "container.conf").write_text("[Unit]\nConditionVirtualization=\n")
    assert d.cli("daemon-reload").returncode == 0
    assert d.inside("mount", "-t", "tmpfs", "tmpfs", "/etc/acpi/events").returncode == 0

    r = d.cli("start", "acpid.path")
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("acpid.path") == "active/waiting"
    text = d.cli("status", "acpid.path").stdout
    assert "Active: active (waiting)" in text, text
    assert "Triggers: ● acpid.service" in text, text
    assert d.state("acpid.service") == "inactive/dead"
    show = d.cli("show", "-p", "Paths,Unit", "acpid.path").stdout
    assert show.split("\n")[:2] == [
        "Unit=acpid.service",
        "Paths=/etc/acpi/events (DirectoryNotEmpty)",
    ]

    rule = "event=button/power\naction=/bin/true\n"
    assert d.inside("sh", "-c", f"printf '{rule}' > /etc/acpi/events/h1").returncode == 0
    info = d.wait_state("acpid.service", "active/running")
    d.wait_state("acpid.path", "active/running")
    assert d.state("acpid.socket") == "active/running"
    text = status_lists(d, "acpid", "acpid")
    assert "TriggeredBy: ● acpid.path" in text, text
    no_reload(d, "acpid")

    # stopped while the rule is there: the path starts it again, as in systemd
    r = d.cli("stop", "acpid")
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "Warning: Stopping acpid.service, but it can still be activated by:",
        "  acpid.path",
        "  acpid.socket",
    ]
    again = d.wait_state("acpid.service", "active/running")
    assert again["main_pid"] != info["main_pid"]

    assert d.inside("rm", "/etc/acpi/events/h1").returncode == 0
    assert d.cli("stop", "acpid").returncode == 0
    d.wait_state("acpid.path", "active/waiting")
    assert d.state("acpid.service") == "inactive/dead"
    assert not d.exists("/run/acpid.pid")
    assert d.cli("stop", "acpid.socket").returncode == 0
    stop_all_gone(d, "acpid.path")
    assert "Started acpid.service" in d.journal("-u", "acpid")
