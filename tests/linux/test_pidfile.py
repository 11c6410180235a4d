"""linux.pidfile: parsing, existence and ownership rules, removal."""

from __future__ import annotations

import os

import pytest

from pidone.linux.pidfile import (
    PidFile,
    PidFileError,
    check_main_pid,
    parse_pid_file,
    read_pid_file,
    remove_pid_file,
)
from tests.linux.proc_helpers import kill_and_reap


@pytest.mark.parametrize(
    ("data", "pid"), [(b"123\n", 123), (b"  77  \nrest\n", 77), (b"4194304", 4194304)]
)
def test_parse_good(data, pid):
    assert parse_pid_file(data) == pid


@pytest.mark.parametrize("data", [b"", b"-5", b"0", b"12abc", b"abc", b"4194305", b"\n12"])
def test_parse_bad(data):
    with pytest.raises(ValueError):
        parse_pid_file(data)


def test_read_missing_bad_and_good(tmp_path):
    path = tmp_path / "x.pid"
    with pytest.raises(FileNotFoundError):
        read_pid_file(str(path))
    path.write_text("junk\n")
    with pytest.raises(PidFileError, match=r"Failed to parse PID from file .*x.pid: Invalid"):
        read_pid_file(str(path))
    path.write_text(f"{os.getpid()}\n")
    assert read_pid_file(str(path)) == PidFile(os.getpid(), os.getuid())
    remove_pid_file(str(path))
    assert not path.exists()
    remove_pid_file(str(path))  # already gone: fine


def test_check_main_pid_rules():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.execv("/bin/sleep", ["sleep", "600"])
    try:
        assert check_main_pid(PidFile(pid, 1000), belongs_to_unit=True) is None
        assert check_main_pid(PidFile(pid, 0), belongs_to_unit=False) is None
        refused = check_main_pid(PidFile(pid, 1000), belongs_to_unit=False)
        assert refused == (
            f"New main PID {pid} does not belong to service, "
            "and PID file is not owned by root. Refusing."
        )
        me = check_main_pid(PidFile(os.getpid(), 0), belongs_to_unit=True)
        assert me == f"New main PID {os.getpid()} is the manager, refusing."
    finally:
        kill_and_reap(pid)
    gone = check_main_pid(PidFile(pid, 0), belongs_to_unit=True)
    assert gone == f"New main PID {pid} does not exist or is a zombie."


def test_a_zombie_is_refused_as_main_pid():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    try:
        while True:  # exited, not reaped: state Z (waitid WNOWAIT leaves it a zombie)
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            if info is not None:
                break
        refused = check_main_pid(PidFile(pid, 0), belongs_to_unit=True)
        assert refused == f"New main PID {pid} does not exist or is a zombie."
    finally:
        os.waitpid(pid, 0)
