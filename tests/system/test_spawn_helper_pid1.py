"""As PID 1 the daemon spawns through its clone3(CLONE_INTO_CGROUP) helper (issues 3, 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from pidone.linux.spawn_cgroup import HELPER_COMM
from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

SLEEP = "[Service]\nExecStart=/bin/sleep 1000\n"


def _stat(pid: int) -> tuple[str, int]:
    """(comm, ppid) of host PID `pid`."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    comm = data[data.find(b"(") + 1 : data.rfind(b")")].decode()
    return comm, int(data[data.rfind(b")") + 2 :].split()[1])


def _cgroup(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        return next(line[3:].strip() for line in f if line.startswith("0::"))


def _running(d: NamespaceDaemon, unit: str) -> int:
    info = d.wait_state(unit, "active/running")
    d.wait_for(lambda: d.status(unit).get("main_comm") == "sleep", what=f"{unit} to exec")
    return int(d.host_pid(info["main_pid"]))


def _needs_helper(d: NamespaceDaemon) -> None:
    if os.environ.get("PIDONE_NO_CLONE3"):
        pytest.skip("PIDONE_NO_CLONE3 is set")
    if not (d.status("a.service").get("control_group") or "").startswith("/pidone"):
        pytest.skip("the daemon runs without cgroups here: it never spawns into one")


def test_the_helper_spawns_as_pid1_and_is_no_leftover(pidone_ns: Factory) -> None:
    d = pidone_ns({"a.service": SLEEP, "b.service": SLEEP})
    assert d.cli("start", "a.service").returncode == 0
    a = _running(d, "a.service")
    _needs_helper(d)
    helper = d.spawn_helper_pid()
    assert helper not in (0, a)
    assert _stat(helper) == (HELPER_COMM, d.pid1)
    # The service is PID 1's child (CLONE_PARENT), born in its unit's cgroup.
    assert _stat(a) == ("sleep", d.pid1)
    assert _cgroup(a).endswith("/a.service")
    assert _cgroup(helper) == _cgroup(d.pid1)  # in no unit
    assert d.namespace_pids() == [a]  # the helper is not counted
    ps = subprocess.run(
        [sys.executable, "-m", "pidone", "ps", "-o", "json", "-p", f"{a},{helper}", "--unit"],
        capture_output=True,
        text=True,
        timeout=60,
        env=d.env,
    )
    assert ps.returncode == 0, ps.stderr
    rows = json.loads(ps.stdout)
    rows = rows["processes"] if isinstance(rows, dict) else rows
    units = {r["pid"]: r["unit"] for r in rows}
    assert units[a] == "a.service"
    assert units[helper] != "a.service"

    # A dead helper (our child: the reaper collects it) makes later starts fork.
    os.kill(helper, signal.SIGKILL)
    d.wait_for(lambda: d.spawn_helper_pid() == 0, what="the helper to be reaped")
    assert d.cli("start", "b.service").returncode == 0
    b = _running(d, "b.service")
    assert _stat(b) == ("sleep", d.pid1)
    assert _cgroup(b).endswith("/b.service")
    assert sorted(d.namespace_pids()) == sorted([a, b])
    assert d.stop() == 0


def test_pid1_shutdown_ends_the_helper_after_the_units(pidone_ns: Factory) -> None:
    d = pidone_ns({"a.service": "[Service]\nExecStart=/bin/sleep 1000\nExecStop=/bin/true\n"})
    assert d.cli("start", "a.service").returncode == 0
    _running(d, "a.service")
    _needs_helper(d)
    helper = d.spawn_helper_pid()
    assert helper
    assert d.stop() == 0  # ExecStop= still spawned; then the helper ends, then PID 1
    assert not os.path.exists(f"/proc/{helper}")
