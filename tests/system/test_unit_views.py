"""`pidone ps --unit` and `pidone tree --units` name the unit the daemon put a process in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.system


def test_ps_and_tree_attribute_daemon_processes_to_their_unit(pidone_ns):
    d = pidone_ns({"viewed.service": "[Service]\nExecStart=/bin/sleep 1000\n"})
    assert d.cli("start", "viewed.service").returncode == 0
    info = d.wait_state("viewed.service", "active/running")
    d.wait_for(lambda: d.status("viewed.service").get("main_comm") == "sleep", what="exec")
    if not (d.status("viewed.service").get("control_group") or "").startswith("/pidone"):
        pytest.skip("the daemon runs without cgroups here: ps/tree attribute by cgroup only")
    host_pid = d.host_pid(info["main_pid"])
    ps = subprocess.run(
        [sys.executable, "-m", "pidone", "ps", "-o", "json", "-p", str(host_pid), "--unit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ps.returncode == 0, ps.stderr
    rows = json.loads(ps.stdout)
    rows = rows["processes"] if isinstance(rows, dict) else rows
    assert [(r["pid"], r["unit"]) for r in rows] == [(host_pid, "viewed.service")]
    tree = subprocess.run(
        [sys.executable, "-m", "pidone", "tree", "--units", "-p"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tree.returncode == 0, tree.stderr
    assert f"viewed.service---sleep({host_pid})" in tree.stdout


def test_pidone_show_reports_runtime_properties_from_the_daemon(pidone_ns):
    d = pidone_ns({"shown.service": "[Service]\nExecStart=/bin/sleep 1000\n"})
    assert d.cli("start", "shown.service").returncode == 0
    info = d.wait_state("shown.service", "active/running")
    out = d.cli("show", "-p", "MainPID,ActiveState,SubState", "shown.service")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"MainPID={info['main_pid']}",
        "ActiveState=active",
        "SubState=running",
    ]
