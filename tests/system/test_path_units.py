"""Path units through a real daemon (man 5 systemd.path; cups.path, acpid.path): PathExists=
waits, triggers once the file appears, and triggers again after the unit stops while the
file is still there; DirectoryNotEmpty= with MakeDirectory=; PathChanged= on a write.
TRIGGER_UNIT= and TRIGGER_PATH= reach the service. No timing assertions: waits only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

NO_LIMIT = "[Unit]\nStartLimitIntervalSec=0\n"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_path_exists_waits_triggers_and_triggers_again(pidone_ns: Factory, tmp_path: Path) -> None:
    flag, log = tmp_path / "a" / "b" / "flag", tmp_path / "log"
    d = pidone_ns(
        {
            "f.path": f"[Path]\nPathExists={flag}\n",
            "f.service": f"{NO_LIMIT}[Service]\nExecStart=/bin/sh -c "
            f"'echo $TRIGGER_UNIT $TRIGGER_PATH >> {log}; exec sleep 600'\n",
        }
    )
    r = d.cli("start", "f.path")
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("f.path") == "active/waiting"
    text = d.cli("status", "f.path").stdout
    assert "Active: active (waiting)" in text, text
    assert "Triggers: ● f.service" in text, text
    assert "TriggeredBy: ● f.path" in d.cli("status", "f.service").stdout
    assert d.state("f.service") == "inactive/dead"
    flag.parent.mkdir(parents=True)  # the missing parents are watched too
    flag.write_text("")
    d.wait_state("f.service", "active/running")
    d.wait_state("f.path", "active/running")
    d.wait_for(lambda: lines(log) == [f"f.path {flag}"], what="the service's TRIGGER_* line")
    # stopped while the file is there: path_trigger_notify() checks again and starts it
    assert d.cli("stop", "f.service").returncode == 0
    d.wait_for(lambda: len(lines(log)) == 2, what="the second start")
    d.wait_state("f.service", "active/running")
    flag.unlink()
    assert d.cli("stop", "f.service").returncode == 0
    d.wait_state("f.path", "active/waiting")
    assert d.state("f.service") == "inactive/dead"
    journal = d.journal("-u", "f.path")
    assert "Started f.path" in journal
    assert "Starting f.path" not in journal  # path_start() enters waiting at once
    assert d.cli("stop", "f.path").returncode == 0
    assert d.state("f.path") == "inactive/dead"
    flag.write_text("")  # no watch any more
    assert d.state("f.service") == "inactive/dead"
    r = d.cli("show", "-p", "Triggers,SubState", "f.path")
    assert r.stdout.split() == ["Triggers=f.service", "SubState=dead"]
    # started while its unit runs: `running` at once (path_enter_waiting())
    assert d.cli("start", "f.service").returncode == 0
    assert d.cli("start", "f.path").returncode == 0
    assert d.state("f.path") == "active/running"
    assert d.cli("stop", "f.path", "f.service").returncode == 0


def test_directory_not_empty_with_make_directory_and_path_changed(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    spool, conf, log = tmp_path / "spool" / "in", tmp_path / "x.conf", tmp_path / "log"
    conf.write_text("1\n")
    oneshot = (
        f"{NO_LIMIT}[Service]\nType=oneshot\n"
        f"ExecStart=/bin/sh -c 'echo %N $TRIGGER_PATH >> {log}'\n"
    )
    d = pidone_ns(
        {
            "q.path": f"[Path]\nDirectoryNotEmpty={spool}\nMakeDirectory=yes\nDirectoryMode=0700\n",
            "q.service": oneshot,
            "c.path": f"[Path]\nPathChanged={conf}\nUnit=cw.service\n",
            "cw.service": oneshot,
        }
    )
    assert d.cli("start", "q.path", "c.path").returncode == 0
    assert spool.is_dir()
    assert spool.stat().st_mode & 0o777 == 0o700
    assert d.state("q.path") == "active/waiting"
    assert d.state("c.path") == "active/waiting"  # an existing file is no change
    (spool / ".hidden").write_text("")  # hidden_or_backup_file(): still "empty"
    (spool / "job").write_text("")
    d.wait_for(lambda: f"q {spool}" in lines(log), what="q.service to run")
    with conf.open("a") as f:
        f.write("2\n")
    d.wait_for(lambda: f"cw {conf}" in lines(log), what="cw.service to run")
    assert lines(log).count(f"cw {conf}") == 1
    assert d.cli("stop", "q.path", "c.path").returncode == 0


def test_stop_warns_about_active_units_that_can_start_it_again(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    """systemctl 252 (check_triggering_units(), oracle: `systemctl stop cups`): the active
    triggering units as they are before the stop job, even PartOf= ones stopped with it;
    not with --no-block, not when they are inactive."""
    d = pidone_ns(
        {
            "w.path": f"[Unit]\nPartOf=w.service\n[Path]\nPathExists={tmp_path}/never\n",
            "w.socket": f"[Socket]\nListenStream={tmp_path}/w.sock\n",
            "w.service": "[Service]\nExecStart=/bin/sleep 600\n",
        }
    )
    assert d.cli("start", "w.path", "w.socket", "w.service").returncode == 0
    r = d.cli("stop", "w.service")
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "Warning: Stopping w.service, but it can still be activated by:",
        "  w.path",
        "  w.socket",
    ]
    assert d.state("w.path") == "inactive/dead"  # PartOf=: stopped with it
    # stopping the stopped unit again: the socket is still there to start it
    assert d.cli("stop", "w.service").stderr.splitlines()[1:] == ["  w.socket"]
    assert d.cli("start", "w.service").returncode == 0
    r = d.cli("stop", "--no-block", "w.service")
    assert (r.returncode, r.stderr) == (0, "")
    d.wait_state("w.service", "inactive/dead")
    assert d.cli("stop", "w.socket").returncode == 0
    assert d.cli("stop", "w.service").stderr == ""


def test_trigger_limit_fails_the_path_and_show_says_why(pidone_ns: Factory, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("")
    d = pidone_ns(
        {
            "l.path": f"[Path]\nPathExists={flag}\nTriggerLimitBurst=1\n"
            "TriggerLimitIntervalSec=1h\n",
            "l.service": f"{NO_LIMIT}[Service]\nType=oneshot\nExecStart=/bin/true\n",
        }
    )
    assert d.cli("start", "l.path").returncode == 0
    d.wait_state("l.path", "failed")
    r = d.cli("show", "-p", "Result,ActiveState", "l.path")
    assert r.stdout.split() == ["Result=trigger-limit-hit", "ActiveState=failed"]
    journal = d.journal("-u", "l.path")
    assert "l.path: Trigger limit hit, refusing further activation." in journal
    assert "l.path: Failed with result 'trigger-limit-hit'." in journal
