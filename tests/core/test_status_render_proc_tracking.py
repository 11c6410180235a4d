"""`pidone status` without cgroups (/proc tracking) still lists the unit's processes."""

from __future__ import annotations

from datetime import UTC

from pidone.core.render.status import format_status
from pidone.core.statusview import ProcessEntry, StatusView

NOW = 1_764_430_000_000_000


def test_processes_are_listed_without_a_cgroup() -> None:
    view = StatusView(
        id="apache2.service",
        description="The Apache HTTP Server",
        active_state="active",
        sub_state="running",
        active_enter_usec=NOW - 5_000_000,
        main_pid=25,
        exec_main_pid=25,
        main_comm="apache2",
        control_group="",
        processes=(
            ProcessEntry(25, ("/usr/sbin/apache2", "-k", "start")),
            ProcessEntry(26, ("/usr/sbin/apache2", "-k", "start")),
        ),
    )
    text = format_status(view, now_usec=NOW, tz=UTC, lines=0)
    assert text.endswith(
        "   Main PID: 25 (apache2)\n"
        "     CGroup: (none: processes tracked through /proc)\n"
        "             ├─25 /usr/sbin/apache2 -k start\n"
        "             └─26 /usr/sbin/apache2 -k start\n"
    ), text


def test_nothing_without_processes() -> None:
    view = StatusView(id="x.service", active_state="inactive", sub_state="dead")
    assert "CGroup" not in format_status(view, now_usec=NOW, tz=UTC, lines=0)
