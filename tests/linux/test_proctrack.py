"""linux.proctrack inside a fresh PID namespace (the driver is its PID 1, so this test
process never becomes a subreaper), plus the pure environ parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from pidone.linux.proctrack import parse_invocation_id

DRIVER = os.path.join(os.path.dirname(__file__), "proctrack_driver.py")


def test_parse_invocation_id():
    assert parse_invocation_id(b"A=1\0INVOCATION_ID=abc\0B=2\0") == "abc"
    assert parse_invocation_id(b"A=1\0") == ""
    assert parse_invocation_id(b"") == ""


def _run_driver(mode: str, env_mode: str) -> dict[str, object]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root for unshare --pid")
    proc = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, DRIVER, mode, env_mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # When the namespace's PID 1 exits the kernel kills everything left inside.
    assert proc.returncode == 0, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("mode", "env_mode"),
    [
        ("setsid", "keep"),  # attributed through INVOCATION_ID in /proc/PID/environ
        ("nosetsid", "scrub"),  # attributed through the unit's session
    ],
)
def test_orphaned_double_fork_is_tracked_and_killed(mode, env_mode):
    report = _run_driver(mode, env_mode)
    assert report == {
        "pid": 1,
        "kind": "proc",
        "main": True,
        "members": True,
        "unit_of_grandchild": "double.service",
        "bystander": True,
        "events_before": [],
        "killed": True,
        "empty": True,
        "events_after": [["double.service", False]],
        "bystander_alive": True,
        "removed": True,
    }
