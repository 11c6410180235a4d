"""Job verbs and their systemctl messages and exit codes, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

SLEEPER = "[Service]\nExecStart=/bin/sleep 1000\n"


def test_job_verbs_messages_and_exit_codes(pidone_ns: Factory, tmp_path: Path) -> None:
    log = tmp_path / "reloads"
    d = pidone_ns(
        {
            "a.service": SLEEPER,
            "r.service": f"[Service]\nExecStart=/bin/sleep 1000\n"
            f"ExecReload=/bin/sh -c 'echo reload >> {log}'\n",
        }
    )
    r = d.cli("start", "missing")
    assert (r.returncode, r.stderr) == (
        5,
        "Failed to start missing.service: Unit missing.service not found.\n",
    )
    r = d.cli("stop", "missing")
    assert (r.returncode, r.stderr) == (
        5,
        "Failed to stop missing.service: Unit missing.service not loaded.\n",
    )
    r = d.cli("reload", "a")
    assert r.returncode == 3
    assert (
        r.stderr
        == "Failed to reload a.service: Job type reload is not applicable for unit a.service.\n"
    )
    r = d.cli("try-restart", "a")  # inactive: nothing to do
    assert (r.returncode, d.state("a.service")) == (0, "inactive/dead")
    r = d.cli("reload", "r")
    assert (r.returncode, r.stderr) == (1, "r.service is not active, cannot reload.\n")
    assert d.cli("restart", "a").returncode == 0  # restart starts an inactive unit
    first = d.wait_state("a.service", "active/running")["main_pid"]
    assert d.cli("restart", "a").returncode == 0
    assert d.status("a.service")["main_pid"] != first
    assert d.cli("reload-or-restart", "r").returncode == 0  # inactive: started
    assert d.cli("reload-or-restart", "r").returncode == 0  # active: reloaded
    assert d.cli("reload", "r").returncode == 0
    assert log.read_text() == "reload\nreload\n"
    r = d.cli("is-active", "a", "r", "missing")
    assert (r.returncode, r.stdout) == (0, "active\nactive\ninactive\n")
    r = d.cli("is-failed", "a")
    assert (r.returncode, r.stdout) == (1, "active\n")
    r = d.cli("kill", "--signal=KILL", "--kill-whom=main", "a")
    assert r.returncode == 0
    info = d.wait_state("a.service", "failed")
    assert info["result"] == "signal"
    assert d.cli("stop", "--no-block", "r").returncode == 0
    d.wait_state("r.service", "inactive/dead")


def test_daemon_reload_reads_changed_units(pidone_ns: Factory) -> None:
    d = pidone_ns({"c.service": "[Unit]\nDescription=old\n" + SLEEPER})
    assert d.cli("start", "c").returncode == 0
    d.write_unit("c.service", "[Unit]\nDescription=new\n" + SLEEPER)
    d.write_unit("n.service", SLEEPER)  # a unit added after start-up is found too
    assert d.cli("daemon-reload").returncode == 0
    info = d.status("c.service")
    assert (info["description"], info["active"]) == ("new", "active")  # runtime state kept
    assert d.cli("start", "n").returncode == 0
    r = d.cli("list-units")
    assert [line.split()[0] for line in r.stdout.splitlines()[1:3]] == ["c.service", "n.service"]
