"""Boot and shutdown order of `pidone daemon --boot` as PID 1 of a PID namespace.

Twenty services join multi-user.target (pidone's built-in, default.target's alias) through
`multi-user.target.wants/` links or a Wants= of another service, with After=/Before= chains,
a diamond and independent branches. Each records its start and its stop in one file: the
oneshot ones from ExecStart=/ExecStop= (RemainAfterExit=yes), the long-running ones from
ExecStartPre= (done before the service is active) and ExecStopPost= (run once its process
is gone). The start order must respect every ordering edge, the stop order must reverse
every one of them, and the first unit (ordered before all others) stops last and sees no
other service process left in the namespace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

N = 20
FIRST = "s00.service"  # Before= every other service
# (earlier, later): `later` has After=earlier (or `earlier` has Before=later, see BEFORE)
EDGES = [
    ("s01", "s02"),
    ("s02", "s03"),
    ("s03", "s04"),
    ("s04", "s05"),  # chain s01..s05
    ("s06", "s07"),
    ("s07", "s08"),  # chain s06..s08
    ("s09", "s10"),
    ("s09", "s11"),
    ("s10", "s12"),
    ("s11", "s12"),  # diamond s09 -> s10|s11 -> s12
    ("s05", "s13"),
    ("s08", "s13"),  # join of both chains
    ("s14", "s15"),  # given as s14 Before=s15
    ("s12", "s16"),
    ("s16", "s17"),  # s17 Requires= s16 too
    ("s18", "s19"),  # s19 pulled in by s18's Wants= only
]
BEFORE = {("s14", "s15")}
LONG_RUNNING = {"s03", "s07", "s10", "s15", "s17", "s19"}  # sleep processes while active
NOT_LINKED = {"s19"}  # reached through s18's Wants= only


def _units(log: Path, procs: Path) -> dict[str, str]:
    names = [f"s{i:02d}" for i in range(N)]
    after: dict[str, list[str]] = {n: [] for n in names}
    before: dict[str, list[str]] = {n: [] for n in names}
    for earlier, later in EDGES:
        if (earlier, later) in BEFORE:
            before[earlier].append(f"{later}.service")
        else:
            after[later].append(f"{earlier}.service")
    before["s00"] = [f"{n}.service" for n in names if n != "s00"]
    extra = {"s17": "Requires=s16.service\n", "s18": "Wants=s19.service\n"}
    units = {}
    for n in names:
        unit = "[Unit]\n" + extra.get(n, "")
        if after[n]:
            unit += f"After={' '.join(after[n])}\n"
        if before[n]:
            unit += f"Before={' '.join(before[n])}\n"
        start = f"/bin/sh -c 'echo start {n} >> {log}'"
        stop = f"/bin/sh -c 'echo stop {n} >> {log}'"
        if n == "s00":  # the last to stop: which processes are left in the namespace?
            stop = (
                "/bin/sh -c 'for p in /proc/[0-9]*; do cat $p/comm; done > "
                f"{procs} 2>/dev/null; echo stop {n} >> {log}'"
            )
        if n in LONG_RUNNING:
            unit += f"[Service]\nExecStartPre={start}\nExecStart=/bin/sleep 1000\n"
            unit += f"ExecStopPost={stop}\n"
        else:
            unit += "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            unit += f"ExecStart={start}\nExecStop={stop}\n"
        units[f"{n}.service"] = unit
    return units


def _events(log: Path) -> tuple[list[str], list[str]]:
    starts, stops = [], []
    for line in log.read_text().splitlines():
        word, name = line.split()
        (starts if word == "start" else stops).append(name)
    return starts, stops


def _ordered_pairs() -> list[tuple[str, str]]:
    pairs = list(EDGES)
    pairs += [("s00", f"s{i:02d}") for i in range(1, N)]
    return pairs


def test_boot_starts_in_dependency_order_and_shutdown_reverses_it(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    del pidone_ns  # requested for its skip conditions; this daemon needs links before start
    log, procs = tmp_path / "order.log", tmp_path / "procs"
    d = NamespaceDaemon(tmp_path / "ns", _units(log, procs), args=["--boot"])
    wants = d.unit_dir / "multi-user.target.wants"
    wants.mkdir()
    for i in range(N):
        name = f"s{i:02d}"
        if name not in NOT_LINKED:
            os.symlink(f"../{name}.service", wants / f"{name}.service")
    with d:
        for i in range(N):
            d.wait_state(f"s{i:02d}.service", "active")
        d.wait_state("multi-user.target", "active/active")
        assert d.state("basic.target") == "active/active"
        _check_boot(d, log, procs)


def _check_boot(d: NamespaceDaemon, log: Path, procs: Path) -> None:
    starts, _ = _events(log)
    assert sorted(starts) == sorted(f"s{i:02d}" for i in range(N))  # each started once
    for earlier, later in _ordered_pairs():
        assert starts.index(earlier) < starts.index(later), (earlier, later, starts)
    assert d.stop() == 0  # SIGTERM to PID 1
    _, stops = _events(log)
    assert sorted(stops) == sorted(f"s{i:02d}" for i in range(N))
    for earlier, later in _ordered_pairs():
        assert stops.index(later) < stops.index(earlier), (earlier, later, stops)
    left = procs.read_text().split()
    assert "sleep" not in left, left


@pytest.mark.parametrize("how", ["poweroff", "reboot", "SIGRTMIN+3", "SIGINT"])
def test_boot_of_a_default_target_file_and_shutdown_requests(
    pidone_ns: Factory, tmp_path: Path, how: str
) -> None:
    """default.target as a file of the unit path: `--boot` reaches it with no help; the
    daemon (PID 1 of a container) exits 0 on `pidone poweroff|reboot`, on systemd's
    SIGRTMIN+3 (halt) and on SIGINT, after stopping everything in reverse order."""
    log = tmp_path / "order.log"
    units = {
        "default.target": "[Unit]\nDescription=Test boot\nWants=a.service b.service\n"
        "AllowIsolate=yes\n",
        "a.service": f"[Service]\nExecStartPre=/bin/sh -c 'echo start a >> {log}'\n"
        f"ExecStart=/bin/sleep 1000\nExecStopPost=/bin/sh -c 'echo stop a >> {log}'\n",
        "b.service": f"[Unit]\nAfter=a.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"ExecStart=/bin/sh -c 'echo start b >> {log}'\n"
        f"ExecStop=/bin/sh -c 'echo stop b >> {log}'\n",
    }
    d = pidone_ns(units, args=["--boot"])
    d.wait_state("default.target", "active")
    d.wait_state("b.service", "active")
    assert d.state("a.service") == "active/running"
    queued = "Queued start job for default target default.target - Test boot."
    assert queued in d.journal("-n", "50")
    if how.startswith("SIG"):
        signum = signal.SIGRTMIN + 3 if how == "SIGRTMIN+3" else signal.SIGINT
        os.kill(d.pid1, signum)
    else:
        r = d.cli(how)
        assert (r.returncode, r.stderr) == (0, "")
    assert d.proc is not None
    assert d.proc.wait(30) == 0
    assert log.read_text().split("\n") == ["start a", "start b", "stop b", "stop a", ""]


def test_is_system_running_says_starting_until_the_boot_job_ends(pidone_ns: Factory) -> None:
    units = {
        "default.target": "[Unit]\nWants=slow.service\nAllowIsolate=yes\n",
        "slow.service": "[Service]\nExecStartPre=/bin/sleep 1000\nExecStart=/bin/sleep 1000\n",
    }
    d = pidone_ns(units, args=["--boot"])
    shim = "import sys; from pidone.cli.systemctl import main; sys.exit(main(sys.argv[1:]))"

    def is_system_running() -> tuple[int, str]:
        r = subprocess.run(
            [sys.executable, "-c", shim, "is-system-running"],
            capture_output=True,
            text=True,
            env=d.env,
            timeout=60,
            check=False,
        )
        return r.returncode, r.stdout

    d.wait_for(lambda: len(d.call("list-jobs")["jobs"]) == 2, what="the boot jobs")
    assert is_system_running() == (1, "starting\n")
    # `pidone status` (systemctl status without units) says the same, and counts the jobs
    overview = d.cli("status", "--no-pager").stdout.splitlines()
    assert overview[1:4:2] == ["    State: starting", "     Jobs: 2 queued"], overview[:5]
    slow = next(j[0] for j in d.call("list-jobs")["jobs"] if j[1] == "slow.service")
    assert d.cli("cancel", str(slow)).returncode == 0  # default.target's job can now run
    d.wait_state("default.target", "active")
    d.wait_for(lambda: is_system_running() == (0, "running\n"), what="running")
    overview = d.cli("status", "--no-pager").stdout.splitlines()
    assert overview[1:4:2] == ["    State: running", "     Jobs: 0 queued"], overview[:5]


def test_systemctl_exit_sets_the_container_exit_code(pidone_ns: Factory, tmp_path: Path) -> None:
    log = tmp_path / "order.log"
    units = {
        "default.target": "[Unit]\nWants=a.service\nAllowIsolate=yes\n",
        "a.service": f"[Service]\nExecStart=/bin/sleep 1000\n"
        f"ExecStopPost=/bin/sh -c 'echo stop a >> {log}'\n",
    }
    d = pidone_ns(units, args=["--boot"])
    d.wait_state("a.service", "active/running")
    shim = "import sys; from pidone.cli.systemctl import main; sys.exit(main(sys.argv[1:]))"

    def systemctl(*argv: str) -> tuple[int, str]:
        r = subprocess.run(
            [sys.executable, "-c", shim, *argv],
            capture_output=True,
            text=True,
            env=d.env,
            timeout=60,
            check=False,
        )
        return r.returncode, r.stderr

    assert systemctl("exit", "256") == (1, "Invalid exit code.\n")
    assert systemctl("exit", "7") == (0, "")
    assert d.proc is not None
    assert d.proc.wait(30) == 7
    assert log.read_text() == "stop a\n"


def test_units_without_ordering_start_at_the_same_time(pidone_ns: Factory, tmp_path: Path) -> None:
    """Two unordered oneshots each wait (bounded) for the other's marker before finishing:
    started one after the other, the first would give up and fail. A third, After= both,
    finds both markers. No clock is asserted: the bound only guards against a hang."""

    def meet(me: str, other: str, extra: str = "") -> str:
        there = f"test -e {tmp_path}/{other}"
        # $$: a literal $ for the shell (systemd.service(5) "Command lines")
        wait = f"i=0; until {there} || [ $$i -ge 600 ]; do sleep 0.05; i=$$((i+1)); done"
        return (
            f"[Unit]\n{extra}[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            f"ExecStart=/bin/sh -c 'touch {tmp_path}/{me}; {wait}; {there}'\n"
        )

    units = {
        "default.target": "[Unit]\nWants=a.service b.service c.service\nAllowIsolate=yes\n",
        "a.service": meet("a", "b"),
        "b.service": meet("b", "a"),
        "c.service": meet("c", "a", "After=a.service b.service\n"),
    }
    d = pidone_ns(units, args=["--boot"])
    for name in ("a.service", "b.service", "c.service"):
        assert d.wait_state(name, "active", "failed")["active"] == "active", d.journal()
