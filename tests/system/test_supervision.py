"""Restart=, the start limit, timeouts with SIGKILL escalation and KillMode=, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.scripts import FORKER, NOTIFY, PY, write

pytestmark = pytest.mark.system

# First run misbehaves in the way named by argv[1]; every later run behaves and stays up.
MISBEHAVE = (
    NOTIFY
    + """
import signal
cause, marker = sys.argv[1], sys.argv[2]
first = not os.path.exists(marker)
open(marker, "a").close()
if not first:
    if cause in ("timeout", "watchdog"):
        notify("READY=1")
    while True:
        if cause == "watchdog":
            notify("WATCHDOG=1")
        time.sleep(0.2)
if cause == "clean":
    sys.exit(0)
if cause == "code":
    sys.exit(1)
if cause == "signal":
    os.kill(os.getpid(), signal.SIGKILL)
if cause == "watchdog":
    notify("READY=1")
time.sleep(1000)
"""
)

# man 5 systemd.service, table 2: which Restart= settings restart after which cause.
RESTART_TABLE = {
    "no": set(),
    "always": {"clean", "code", "signal", "timeout", "watchdog"},
    "on-success": {"clean"},
    "on-failure": {"code", "signal", "timeout", "watchdog"},
    "on-abnormal": {"signal", "timeout", "watchdog"},
    "on-abort": {"signal"},
    "on-watchdog": {"watchdog"},
}
CAUSES = ("clean", "code", "signal", "timeout", "watchdog")


def test_every_row_of_the_restart_table(pidone_ns: Factory, tmp_path: Path) -> None:
    script = write(tmp_path, "misbehave.py", MISBEHAVE)
    units = {}
    for policy in RESTART_TABLE:
        for cause in CAUSES:
            kind = "notify" if cause in ("timeout", "watchdog") else "simple"
            extra = "WatchdogSec=1\n" if cause == "watchdog" else ""
            units[f"r-{policy}-{cause}.service"] = (
                f"[Service]\nType={kind}\nRestart={policy}\nRestartSec=100ms\n"
                f"TimeoutStartSec=1\nTimeoutStopSec=1\n{extra}"
                f"ExecStart={PY} {script} {cause} {tmp_path}/{policy}-{cause}.marker\n"
            )
    d = pidone_ns(units)
    r = d.cli("start", "--no-block", *units)
    assert (r.returncode, r.stderr) == (0, "")
    for policy, restarting in RESTART_TABLE.items():
        for cause in CAUSES:
            name = f"r-{policy}-{cause}.service"
            if cause in restarting:
                d.wait_for(
                    lambda n=name: (
                        d.state(n) == "active/running" and d.status(n)["n_restarts"] == 1
                    ),
                    what=f"{name} to be restarted once",
                )
            else:
                final = "inactive/dead" if cause == "clean" else "failed/failed"
                info = d.wait_state(name, final)
                assert info["n_restarts"] == 0, name
                assert (tmp_path / f"{policy}-{cause}.marker").exists()


def test_the_start_limit_and_reset_failed(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "crash.service": "[Unit]\nStartLimitIntervalSec=1min\nStartLimitBurst=3\n"
            "[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=100ms\n"
        }
    )
    assert d.cli("start", "crash").returncode == 0
    d.wait_state("crash.service", "failed")
    assert "crash.service: Start request repeated too quickly." in d.journal("-u", "crash")
    r = d.cli("start", "crash")  # refused by the limit: the job fails at once
    assert r.returncode == 1
    assert r.stderr.startswith("Job for crash.service failed")
    assert d.cli("is-failed", "crash").returncode == 0
    assert d.cli("reset-failed", "crash").returncode == 0
    r = d.cli("is-failed", "crash")
    assert (r.returncode, r.stdout) == (1, "inactive\n")
    assert d.cli("start", "crash").returncode == 0  # allowed again


def test_start_timeout_escalates_to_sigkill(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "slow.service": "[Service]\nType=notify\nTimeoutStartSec=1\nTimeoutStopSec=1\n"
            "ExecStart=/bin/sh -c \"trap '' TERM; sleep 1000\"\n"
        }
    )
    r = d.cli("start", "slow")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == (
        "Job for slow.service failed because a timeout was exceeded."
    )
    info = d.status("slow.service")
    assert (info["active"], info["result"]) == ("failed", "timeout")
    log = d.journal("-u", "slow.service")
    assert "slow.service: start operation timed out. Terminating." in log
    assert "slow.service: State 'stop-sigterm' timed out. Killing." in log
    assert "with signal SIGKILL." in log
    d.wait_for(lambda: d.namespace_pids() == [], what="every process to be gone")


def test_stop_timeout_escalates_to_sigkill(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "stubborn.service": "[Service]\nTimeoutStopSec=1\n"
            "ExecStart=/bin/sh -c \"trap '' TERM; sleep 1000\"\n"
        }
    )
    assert d.cli("start", "stubborn").returncode == 0
    d.wait_state("stubborn.service", "active/running")
    r = d.cli("stop", "stubborn")
    assert (r.returncode, r.stderr) == (0, "")  # stop succeeds even when it ends failed
    info = d.status("stubborn.service")
    assert (info["active"], info["result"]) == ("failed", "timeout")
    assert d.namespace_pids() == []


@pytest.mark.parametrize("tracker", ["cgroup", "proc"])
@pytest.mark.parametrize(
    ("mode", "left"),
    [("control-group", 0), ("mixed", 0), ("process", 3), ("none", 4)],
)
def test_kill_mode_with_forks_double_forks_and_setsid(
    pidone_ns: Factory, tmp_path: Path, mode: str, left: int, tracker: str
) -> None:
    script = write(tmp_path, "forker.py", FORKER)
    out = tmp_path / "pids"
    d = pidone_ns(
        {
            "k.service": f"[Service]\nKillMode={mode}\nTimeoutStopSec=2\n"
            f"ExecStart={PY} {script} {out}\n"
        },
        no_cgroups=tracker == "proc",
    )
    assert d.cli("start", "k").returncode == 0
    d.wait_for(out.exists, what="the forker to write its PIDs")
    main, *children = (int(p) for p in out.read_text().split())
    info = d.status("k.service")
    assert info["main_pid"] == main
    assert sorted(pid for pid, _cmd in info["processes"]) == sorted([main, *children])
    assert d.cli("stop", "k").returncode == 0
    remaining = sorted(nspid for nspid, _state, _comm in d.namespace_processes())
    if left == 0:
        assert remaining == []
    elif left == 3:
        assert remaining == sorted(children)
        journal = d.journal("-u", "k.service")
        assert "remains running after unit stopped." in journal
        # before the stop job's line, at info: service_enter_dead(), unit_log_leftover_
        # process_stop() in 252
        assert journal.index("remains running") < journal.index("Stopped k.service")
        assert "remains running" not in d.journal("-u", "k.service", "-p", "warning")
    else:
        assert remaining == sorted([main, *children])


def test_a_restarting_unit_fails_its_start_job_and_lets_the_next_one_run(
    pidone_ns: Factory,
) -> None:
    """systemd 252 on the oracle, the same two units: `start flap` exits 1 at the first
    failure ("Job for flap.service failed because the control process exited with error
    code.") while flap keeps restarting, and after.service (After=flap.service) starts
    once flap's current (restart) job has ended. pidone kept the first start job through
    every restart, so `start after` never returned and a booting container stalled."""
    units = {
        "flap.service": "[Service]\nType=notify\nExecStart=/bin/false\nRestart=always\n"
        "RestartSec=1\nStartLimitIntervalSec=0\n",
        "after.service": "[Unit]\nAfter=flap.service\nWants=flap.service\n"
        "[Service]\nExecStart=/bin/sleep 1000\n",
    }
    d = pidone_ns(units)
    r = d.cli("start", "flap")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Job for flap.service failed because the control process exited" in r.stderr
    assert d.cli("start", "after").returncode == 0
    assert d.state("after.service") == "active/running"
    assert d.state("flap.service").startswith("activating/")  # still restarting
    journal = d.journal("-u", "flap", "-o", "cat")
    assert journal.count("Failed to start flap.service.") >= 2, journal


def test_a_unit_bound_to_a_skipped_unit_does_not_start(pidone_ns: Factory) -> None:
    """unit_verify_deps() (252 unit_start()): sssd-nss.socket has BindsTo=+After=
    sssd.service, which its conditions skip; on the oracle the socket never listens
    ("Bound to unit sssd.service, but unit isn't active.", "Dependency failed for ...").
    pidone listened on it, and NSS lookups then went to a socket nobody would serve."""
    units = {
        "skipped.service": "[Unit]\nConditionPathExists=/nonexistent/pidone\n"
        "[Service]\nExecStart=/bin/sleep 1000\n",
        "needs.service": "[Unit]\nDescription=Needs\nBindsTo=skipped.service\n"
        "After=skipped.service\n[Service]\nExecStart=/bin/sleep 1000\n",
    }
    d = pidone_ns(units)
    r = d.cli("start", "needs")
    assert r.returncode != 0
    assert "A dependency job for needs.service failed." in r.stderr, r.stderr
    assert d.state("needs.service") == "inactive/dead"
    journal = d.journal("-u", "needs", "-o", "cat")
    assert "needs.service: Bound to unit skipped.service, but unit isn't active." in journal
    assert "Dependency failed for needs.service - Needs." in journal


def test_binds_to_without_after_is_not_checked_at_start(pidone_ns: Factory) -> None:
    """unit_verify_deps() checks only BindsTo= units also ordered After=. xrdp-sesman.service
    is BindsTo=xrdp.service and starts first (xrdp.service: Requires=/After=xrdp-sesman):
    under 252 both start; pidone failed both with 'dependency' ("Bound to unit xrdp.service,
    but unit isn't active.")."""
    units = {
        "front.service": "[Unit]\nRequires=back.service\nAfter=back.service\n"
        "[Service]\nExecStart=/bin/sleep 1000\n",
        "back.service": "[Unit]\nBindsTo=front.service\n[Service]\nExecStart=/bin/sleep 1000\n",
    }
    d = pidone_ns(units)
    r = d.cli("start", "front")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("back.service") == "active/running"
    assert d.state("front.service") == "active/running"
    assert "Bound to unit" not in d.journal("-o", "cat")
    # BindsTo=: stopping front stops back too
    assert d.cli("stop", "front").returncode == 0
    d.wait_state("back.service", "inactive/dead")
