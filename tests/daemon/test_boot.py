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
