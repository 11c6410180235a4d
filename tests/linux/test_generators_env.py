"""Where generators are looked for ($PIDONE/SYSTEMD_GENERATOR_PATH), the environment
systemd 252 gives them (systemd.generator(7) "Environment"), and when one is done."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from pidone.linux.generators import (
    GENERATOR_BINARY_DIRS,
    find_generators,
    generator_dirs,
    generator_environment,
    run_generators,
)


def test_generator_path_replaces_appends_or_empties_the_list(tmp_path: Path) -> None:
    assert generator_dirs({}) == GENERATOR_BINARY_DIRS
    assert generator_dirs({"SYSTEMD_GENERATOR_PATH": "/a:/b"}) == ("/a", "/b")
    assert generator_dirs({"SYSTEMD_GENERATOR_PATH": "/a:"}) == ("/a", *GENERATOR_BINARY_DIRS)
    # an empty value names no directory: no generator runs
    assert generator_dirs({"PIDONE_GENERATOR_PATH": ""}) == ()
    # pidone's own variable wins over systemd's
    both = {"PIDONE_GENERATOR_PATH": "/p", "SYSTEMD_GENERATOR_PATH": "/s"}
    assert generator_dirs(both) == ("/p",)


def test_find_generators_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = tmp_path / "only"
    gen.write_text("#!/bin/sh\n")
    gen.chmod(0o755)
    monkeypatch.setenv("PIDONE_GENERATOR_PATH", str(tmp_path))
    assert find_generators() == [str(gen)]
    monkeypatch.setenv("PIDONE_GENERATOR_PATH", "")
    assert find_generators() == []


def test_the_252_variables_are_set_and_a_stale_one_replaced() -> None:
    base = {"SYSTEMD_VIRTUALIZATION": "vm:stale", "KEEP": "1", "SYSTEMD_SCOPE": "user"}
    env = generator_environment(base)
    assert env["KEEP"] == "1"
    assert env["SYSTEMD_SCOPE"] == "system"
    assert env["SYSTEMD_IN_INITRD"] == ("1" if os.path.exists("/etc/initrd-release") else "0")
    first = os.path.exists("/run/systemd/first-boot")
    assert env["SYSTEMD_FIRST_BOOT"] == ("1" if first else "0")
    assert env.get("SYSTEMD_VIRTUALIZATION") != "vm:stale"
    if os.uname().machine == "x86_64":
        assert env["SYSTEMD_ARCHITECTURE"] == "x86-64"


def test_virtualization_agrees_with_systemd_detect_virt_in_a_container() -> None:
    tool = shutil.which("systemd-detect-virt")
    if tool is None:
        pytest.skip("systemd-detect-virt is not installed")
    container = subprocess.run(
        [tool, "--container"], capture_output=True, text=True, check=False
    ).stdout.strip()
    env = generator_environment({})
    if container and container != "none":
        # detect_virtualization() checks for a container first
        assert env["SYSTEMD_VIRTUALIZATION"] == f"container:{container}"
    else:
        assert not env.get("SYSTEMD_VIRTUALIZATION", "vm:").startswith("container:")


def test_a_generator_sees_them(tmp_path: Path) -> None:
    gen = tmp_path / "dump"
    gen.write_text('#!/bin/sh\nenv > "$1/env.txt"\n')
    gen.chmod(0o755)
    (run,) = run_generators(str(tmp_path / "out"), [str(gen)])
    assert run.status == 0
    text = (tmp_path / "out/generator/env.txt").read_text()
    names = {line.split("=", 1)[0] for line in text.splitlines()}
    expected = {"SYSTEMD_SCOPE", "SYSTEMD_IN_INITRD", "SYSTEMD_FIRST_BOOT", "SYSTEMD_ARCHITECTURE"}
    assert expected <= names


def test_a_generator_is_done_when_it_exits_not_when_its_pipe_closes(tmp_path: Path) -> None:
    """A background child that inherited stdout must not hold the boot for the budget
    (systemd waits for the generator's PID)."""
    pid_file = tmp_path / "bg.pid"
    gen = tmp_path / "forks"
    gen.write_text(
        f'#!/bin/sh\necho before\nsleep 60 &\necho $! > {pid_file}\ntouch "$1/made.service"\n'
    )
    gen.chmod(0o755)
    try:
        (run,) = run_generators(str(tmp_path / "out"), [str(gen)], timeout=20)
        assert (run.status, run.timed_out) == (0, False)
        assert run.output.strip() == "before"
        assert (tmp_path / "out/generator/made.service").exists()
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
