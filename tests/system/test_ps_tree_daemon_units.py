"""`pidone ps --unit` / `pidone tree --units` take unit ownership from the daemon (`pids`).

The daemon runs with --no-cgroups, so no cgroup names the unit: only the daemon's
ProcTracker knows that the double-forked `sleep 1000` (reparented to the namespace's
PID 1) belongs to the service. Without the `pids` verb both views show no unit for it.
"""

from __future__ import annotations

import pytest

from pidone.testing.harness import NamespaceDaemon

pytestmark = pytest.mark.system

UNIT = (
    "[Service]\n"
    # the subshell forks `sleep 1000` and exits at once: a double fork
    "ExecStart=/bin/sh -c '(sleep 1000 &); exec sleep 2000'\n"
)


def _ns_pid_of(d: NamespaceDaemon, argv: bytes) -> int:
    """The namespace PID of the process whose command line is `argv` (0: none yet)."""
    for host in d.namespace_pids():
        try:
            with open(f"/proc/{host}/cmdline", "rb") as f:
                if f.read() != argv:
                    continue
            with open(f"/proc/{host}/status") as f:
                for line in f:
                    if line.startswith("NSpid:"):
                        return int(line.split()[-1])
        except OSError:
            continue
    return 0


def test_daemon_attributes_a_double_forked_process_without_cgroups(pidone_ns):
    d = pidone_ns({"forky.service": UNIT}, no_cgroups=True)
    assert d.cli("start", "forky.service").returncode == 0
    d.wait_state("forky.service", "active/running")
    # both commands: the orphan, and the shell after its `exec sleep 2000` (the exec may
    # come after the fork has already been seen)
    d.wait_for(
        lambda: _ns_pid_of(d, b"sleep\x001000\x00") and _ns_pid_of(d, b"sleep\x002000\x00"),
        what="the double fork and the exec",
    )
    orphan = _ns_pid_of(d, b"sleep\x001000\x00")
    main = _ns_pid_of(d, b"sleep\x002000\x00")
    assert d.call("pids")["pids"].count([orphan, "forky.service"]) == 1

    ps = d.cli("ps", "-e", "-o", "pid,ppid,unit,args", inside=True)
    assert ps.returncode == 0, ps.stderr
    rows = {int(line.split()[0]): line.split() for line in ps.stdout.splitlines()[1:]}
    assert rows[orphan][1:] == ["1", "forky.service", "sleep", "1000"]
    assert rows[main][2:] == ["forky.service", "sleep", "2000"]
    assert rows[1][2] == "-"  # the daemon itself belongs to no unit

    tree = d.cli("tree", "--units", "-p", inside=True)
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    # the orphan is shown under its unit, not under PID 1 where the kernel put it
    assert lines[0].startswith("forky.service-+-sleep("), tree.stdout
    assert sorted(lines[:2]) == sorted([
        f"forky.service-+-sleep({min(main, orphan)})",
        f"              `-sleep({max(main, orphan)})",
    ]), tree.stdout  # fmt: skip
    assert f"sleep({orphan})" not in tree.stdout[tree.stdout.index("(no unit)") :]

    # Outside the daemon's PID namespace its PIDs mean other processes: not used there.
    host = d.cli("ps", "-o", "pid,unit", "-p", str(d.host_pid(orphan)))
    assert host.returncode == 0, host.stderr
    assert host.stdout.split()[-1] == "-", host.stdout
