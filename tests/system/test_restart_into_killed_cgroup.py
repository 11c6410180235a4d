"""A unit restarts into the cgroup its previous run was SIGKILLed in (haproxy's case).

After KillMode=mixed's SIGKILL of the remaining processes, the auto-restart reuses the
unit's cgroup. Linux (6.14+) kills at birth every clone3(CLONE_INTO_CGROUP) child of a
cgroup once `cgroup.kill` was written to it, so the tracker signals per PID instead.
"""

from __future__ import annotations

import pytest

from pidone.linux.cgroups import find_writable_cgroup2
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

UNIT = """\
[Service]
KillMode=mixed
Restart=always
RestartSec=100ms
ExecStart=/bin/sh -c 'echo "alive $$$$"; sleep 600 & exec sleep 600'
"""


def test_restart_after_the_rest_was_sigkilled(pidone_ns: Factory) -> None:
    if find_writable_cgroup2() is None:
        pytest.skip("no writable cgroup2: the /proc tracker never writes cgroup.kill")
    d = pidone_ns({"rk.service": UNIT})
    assert d.cli("start", "rk").returncode == 0
    d.wait_for(lambda: d.journal("-u", "rk", "-o", "cat").count("alive") == 1, what="alive")
    main = d.status("rk.service")["main_pid"]
    # the main process dies; the background sleep is SIGKILLed (mixed), then a restart
    assert d.cli("kill", "-s", "KILL", "--kill-whom=main", "rk").returncode == 0
    d.wait_for(
        lambda: (
            d.journal("-u", "rk", "-o", "cat").count("alive") >= 2
            or d.state("rk.service") == "failed/failed"
        ),
        what="the restarted service to run or the unit to fail",
    )
    log = d.journal("-u", "rk")
    assert "Killing process" in log  # the rest was SIGKILLed: the case at hand
    assert log.count("alive") >= 2, log
    d.wait_state("rk.service", "active/running")
    assert d.status("rk.service")["main_pid"] != main
    assert "restart counter is at 2" not in d.journal("-u", "rk")
    assert d.cli("stop", "rk").returncode == 0
