"""When pidoned runs the start-up tmpfiles.d pass (daemon.boot)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.daemon.boot import tmpfiles_wanted


@pytest.mark.parametrize(
    ("choice", "root", "pid", "initial", "wanted"),
    [
        ("auto", "/", 1, True, True),  # the kernel's init
        ("auto", "/", 1, False, False),  # PID 1 of a test namespace or a container
        ("auto", "/", 4242, True, False),  # a daemon under another init
        ("auto", "/scratch", 1, False, False),  # a root alone never turns it on
        ("yes", "/", 1, False, True),  # a container's init that opted in
        ("yes", "/", 4242, True, False),  # never on / for a non-init daemon
        ("yes", "/scratch", 4242, False, True),
        ("no", "/", 1, True, False),
    ],
)
def test_the_rule(choice: str, root: str, pid: int, initial: bool, wanted: bool) -> None:
    assert tmpfiles_wanted(choice, root, pid, initial) is wanted


def test_yes_on_a_root_that_resolves_to_slash(tmp_path: Path) -> None:
    link = tmp_path / "slash"
    link.symlink_to("/")
    assert tmpfiles_wanted("yes", str(link), 4242, False) is False


def test_a_new_pid_namespace_is_not_the_initial_one() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare")
    code = (
        "import os; from pidone.daemon.boot import in_initial_pid_namespace as f; "
        "print(os.getpid(), f())"
    )
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out == "1 False\n"  # PID 1 there, and still not the kernel's init


def test_pid1_that_owns_run_takes_the_comm_systemd(tmp_path: Path) -> None:
    """keepalived sends READY=1 only when /proc/1/stat begins "1 (systemd) "; the manager
    takes that name with /run, not for a scratch --tmpfiles-root."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare")
    code = (
        "import sys; from pidone.daemon.boot import apply_tmpfiles, take_systemd_comm\n"
        "def stat(): return open('/proc/1/stat').read()[:12]\n"
        "apply_tmpfiles('yes', sys.argv[1], lambda *a: None)\n"
        "before = stat(); take_systemd_comm(); print(before + '|' + stat())\n"
    )
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("|")
    assert out[0] != "1 (systemd) "  # a scratch root: the name stays
    assert out[1] == "1 (systemd) \n"
