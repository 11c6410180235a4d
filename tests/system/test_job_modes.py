"""isolate, list-jobs, cancel and --job-mode= through the real CLI and a namespace daemon.

Expected words and exit codes are systemd 252's, as recorded in the sd-oracle (shared/oracle)
with the same units: `list-jobs` prints JOB UNIT TYPE STATE, a blank line and `N jobs
listed.` (`No jobs running.` when empty); refusals by the transaction (destructive, not
isolatable) exit 4 and add systemctl's "See system logs" line.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory

pytestmark = pytest.mark.system

SLEEPER = "[Service]\nExecStart=/bin/sleep 1000\n"
SEE = "See system logs and 'systemctl status {}' for details.\n"


def test_isolate_stops_units_the_target_does_not_want(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "a.service": SLEEPER,
            "b.service": SLEEPER,
            "c.service": SLEEPER,
            "keep.service": "[Unit]\nIgnoreOnIsolate=yes\n" + SLEEPER,
            "iso.target": "[Unit]\nDescription=Iso\nAllowIsolate=yes\nWants=c.service\n",
        }
    )
    assert d.cli("start", "a", "b", "keep").returncode == 0
    r = d.cli("isolate", "iso")  # no suffix: a target
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("iso.target") == "active/active"
    assert d.wait_state("c.service", "active/running")
    for name in ("a.service", "b.service"):
        d.wait_state(name, "inactive/dead")
    assert d.state("keep.service") == "active/running"
    r = d.cli("isolate", "basic.target")
    assert (r.returncode, r.stderr) == (
        4,
        "Failed to start basic.target: Operation refused, unit may not be isolated.\n"
        + SEE.format("basic.target"),
    )
    assert d.state("c.service") == "active/running"  # nothing changed
    shim = "import sys; from pidone.cli.systemctl import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run(
        [sys.executable, "-c", shim, "default"],  # isolate default.target
        capture_output=True,
        text=True,
        env=d.env,
        timeout=60,
        check=False,
    )
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("multi-user.target") == "active/active"  # pidone's default.target
    d.wait_state("c.service", "inactive/dead")
    assert d.state("iso.target") == "inactive/dead"
    assert d.state("keep.service") == "active/running"
    r = d.cli("isolate", "nosuch")  # 252 checks AllowIsolate= before the load state
    assert (r.returncode, r.stderr) == (
        4,
        "Failed to start nosuch.target: Operation refused, unit may not be isolated.\n"
        + SEE.format("nosuch.target"),
    )


def _list_jobs_text(rows: list[tuple[int, str, str, str]]) -> str:
    """systemctl 252's table: columns as wide as their widest cell, one space apart."""
    table = [("JOB", "UNIT", "TYPE", "STATE"), *((str(r[0]), *r[1:]) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [" ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) for row in table]
    out = [f"{line} {row[3]}" for line, row in zip(lines, table, strict=True)]
    return "\n".join(out) + f"\n\n{len(rows)} jobs listed.\n"


def _jobs(d: NamespaceDaemon) -> list[tuple[int, str, str, str]]:
    return [(int(j[0]), j[1], j[2], j[3]) for j in d.call("list-jobs")["jobs"]]


def test_list_jobs_cancel_and_job_mode_fail(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "slow.service": "[Service]\nExecStartPre=/bin/sleep 1000\nExecStart=/bin/sleep 1000\n",
            "after.service": "[Unit]\nWants=slow.service\nAfter=slow.service\n" + SLEEPER,
            "conf.service": "[Unit]\nConflicts=slow.service\n" + SLEEPER,
        }
    )
    r = d.cli("list-jobs")
    assert (r.returncode, r.stdout) == (0, "No jobs running.\n")
    assert d.cli("list-jobs", "--no-legend").stdout == ""
    # a client that waits for after.service's job (it hears of the cancel at the end)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "pidone", "start", "after"],
        env=d.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        d.wait_for(lambda: len(_jobs(d)) == 2, what="two jobs")
        _check_jobs_and_cancel(d, waiter)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert [j[1] for j in _jobs(d)] == ["slow.service"]
    r = d.cli("list-jobs")
    assert r.stdout.endswith("\n\n1 jobs listed.\n")  # 252 says "1 jobs"
    r = d.cli("cancel")  # no ids: every job
    assert (r.returncode, r.stderr) == (0, "")
    assert d.cli("list-jobs").stdout == "No jobs running.\n"
    # --job-mode=fail goes through once nothing conflicts
    r = d.cli("start", "--job-mode=fail", "conf")
    assert (r.returncode, r.stderr) == (0, "")
    d.wait_state("conf.service", "active/running")


def _check_jobs_and_cancel(d: NamespaceDaemon, waiter: subprocess.Popen[str]) -> None:
    jobs = _jobs(d)
    by_unit = {j[1]: j for j in jobs}
    assert by_unit["slow.service"][2:] == ("start", "running")  # in its ExecStartPre=
    assert by_unit["after.service"][2:] == ("start", "waiting")  # After=slow.service
    r = d.cli("list-jobs")
    assert (r.returncode, r.stdout) == (0, _list_jobs_text(sorted(jobs)))
    no_legend = d.cli("list-jobs", "--no-legend").stdout
    assert [line.split() for line in no_legend.splitlines()] == [
        [str(j[0]), *j[1:]] for j in sorted(jobs)
    ]

    # --job-mode=fail: conf.service would stop slow.service, whose start job is queued
    r = d.cli("start", "--job-mode=fail", "conf")
    assert (r.returncode, r.stderr) == (
        4,
        "Failed to start conf.service: Transaction for conf.service/start is destructive "
        "(slow.service has 'start' job queued, but 'stop' is included in transaction).\n"
        + SEE.format("conf.service"),
    )
    assert _jobs(d) == jobs  # nothing changed
    r = d.cli("start", "--job-mode=bogus", "conf")
    assert (r.returncode, r.stderr) == (
        1,
        "Failed to start conf.service: Job mode bogus invalid\n" + SEE.format("conf.service"),
    )

    r = d.cli("cancel", "99999")
    assert (r.returncode, r.stderr) == (
        1,
        "Failed to cancel job 99999: Job 99999 does not exist.\n",
    )
    r = d.cli("cancel", "abc")
    assert (r.returncode, r.stderr) == (1, 'Failed to parse job id "abc": Invalid argument\n')
    r = d.cli("cancel", str(by_unit["after.service"][0]))
    assert (r.returncode, r.stderr) == (0, "")
    _out, err = waiter.communicate(timeout=30)
    assert (waiter.returncode, err) == (1, "Job for after.service canceled.\n")


def test_job_mode_ignore_dependencies_and_isolate_on_start(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "dep.service": SLEEPER,
            "top.service": "[Unit]\nRequires=dep.service\nAfter=dep.service\n" + SLEEPER,
            "other.service": SLEEPER,
            "iso.target": "[Unit]\nAllowIsolate=yes\nWants=dep.service\n",
        }
    )
    r = d.cli("start", "--job-mode=ignore-dependencies", "top")
    assert (r.returncode, r.stderr) == (0, "")
    d.wait_state("top.service", "active/running")
    assert d.state("dep.service") == "inactive/dead"  # Requires= not followed
    assert d.cli("start", "other").returncode == 0
    r = d.cli("start", "--job-mode=isolate", "iso.target")
    assert (r.returncode, r.stderr) == (0, "")
    d.wait_state("dep.service", "active/running")
    for name in ("top.service", "other.service"):
        d.wait_state(name, "inactive/dead")
