"""Assorted service scenarios: conditions, asserts, pre/post commands, exit statuses, dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system


def test_conditions_asserts_and_exec_condition(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "c.service": "[Unit]\nConditionPathExists=/nonexistent\n"
            "[Service]\nExecStart=/bin/sleep 1000\n",
            "a.service": "[Unit]\nAssertPathExists=/nonexistent\n"
            "[Service]\nExecStart=/bin/sleep 1000\n",
            "x.service": "[Service]\nExecCondition=/bin/sh -c 'exit 1'\n"
            "ExecStart=/bin/sleep 1000\n",
            "y.service": "[Unit]\nConditionPathIsDirectory=/proc\n"
            "[Service]\nExecCondition=/bin/true\nExecStart=/bin/sleep 1000\n",
        }
    )
    r = d.cli("start", "c")
    assert (r.returncode, r.stderr) == (0, "")  # a skipped start is not an error
    assert d.state("c.service") == "inactive/dead"
    assert "unmet condition check (ConditionPathExists=/nonexistent)" in d.journal("-u", "c")
    r = d.cli("start", "a")
    assert (r.returncode, r.stderr) == (1, "Assertion failed on job for a.service.\n")
    r = d.cli("start", "x")
    assert (r.returncode, r.stderr) == (0, "")
    info = d.wait_state("x.service", "inactive/dead")
    assert info["result"] == "exec-condition"
    assert "x.service: Skipped due to 'exec-condition'." in d.journal("-u", "x", "-o", "cat")
    assert d.cli("start", "y").returncode == 0
    assert d.state("y.service") == "active/running"


def test_pre_and_post_commands(pidone_ns: Factory, tmp_path: Path) -> None:
    log = tmp_path / "log"
    d = pidone_ns(
        {
            "p.service": "[Service]\n"
            f"ExecStartPre=/bin/sh -c 'echo pre >> {log}'\n"
            f"ExecStart=/bin/sh -c 'echo start >> {log}; exec sleep 1000'\n"
            f"ExecStartPost=/bin/sh -c 'echo post >> {log}'\n"
            f"ExecStop=/bin/sh -c 'echo stop $MAINPID >> {log}; kill $MAINPID'\n"
            f"ExecStopPost=/bin/sh -c 'echo stop-post $SERVICE_RESULT >> {log}'\n",
            "f.service": "[Service]\nExecStartPre=/bin/false\nExecStart=/bin/sleep 1000\n",
            "g.service": "[Service]\nExecStartPre=-/bin/false\nExecStart=/bin/sleep 1000\n",
        }
    )
    assert d.cli("start", "p").returncode == 0
    main = d.status("p.service")["main_pid"]
    assert d.cli("stop", "p").returncode == 0
    lines = log.read_text().splitlines()
    assert lines[0] == "pre"
    assert sorted(lines[1:3]) == ["post", "start"]  # ExecStartPost= runs beside the main
    assert lines[3:] == [f"stop {main}", "stop-post success"]
    r = d.cli("start", "f")
    assert r.returncode == 1
    assert r.stderr.startswith(
        "Job for f.service failed because the control process exited with error code."
    )
    assert d.cli("start", "g").returncode == 0  # the `-` prefix forgives the failure
    assert d.state("g.service") == "active/running"


def test_exit_status_settings(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "s.service": "[Service]\nExecStart=/bin/sh -c 'exit 42'\nSuccessExitStatus=42\n",
            "r.service": "[Service]\nExecStart=/bin/sh -c 'exit 7'\nRestart=always\n"
            "RestartSec=100ms\nRestartPreventExitStatus=7\n",
            "k.service": "[Service]\n"
            "ExecStart=/bin/sh -c 'trap \"exit 0\" INT; sleep 1000 & wait'\n"
            "KillSignal=SIGINT\nKillMode=mixed\n",
        }
    )
    assert d.cli("start", "s", "r", "k").returncode == 0
    info = d.wait_state("s.service", "inactive/dead")
    assert info["result"] == "success"  # exit 42 counts as success
    info = d.wait_state("r.service", "failed/failed")
    assert (info["result"], info["n_restarts"]) == ("exit-code", 0)
    assert d.cli("stop", "k").returncode == 0
    assert d.status("k.service")["result"] == "success"  # SIGINT reached the trap
    assert d.namespace_pids() == []


def test_runtime_directory_for_a_user(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "rd.service": "[Service]\nUser=nobody\nRuntimeDirectory=pidone-rd\n"
            "RuntimeDirectoryMode=0750\n"
            "ExecStart=/bin/sh -c 'echo $RUNTIME_DIRECTORY > /run/pidone-rd/x; exec sleep 1000'\n"
        },
        isolated=True,
    )
    assert d.cli("start", "rd").returncode == 0
    d.wait_state("rd.service", "active/running")
    root = f"/proc/{d.pid1}/root/run/pidone-rd"
    d.wait_for(lambda: os.path.exists(f"{root}/x"), what="the service to write its file")
    st = os.stat(root)
    assert (st.st_uid, oct(st.st_mode & 0o777)) == (65534, "0o750")
    assert Path(f"{root}/x").read_text() == "/run/pidone-rd\n"
    assert d.cli("stop", "rd").returncode == 0
    assert not os.path.exists(root)  # removed after the run
