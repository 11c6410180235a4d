"""Type=forking whose PID file appears after the parent exited: inotify, as systemd 252."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pidone.daemon.pidwatch import nearest_directory
from pidone.testing.harness import NamespaceDaemon
from tests.system.conftest import Factory
from tests.system.scripts import write

pytestmark = pytest.mark.system

WAITING = "(yet?) after start: No such file or directory"


def late_writer(tmp_path: Path, pidfile: Path) -> tuple[str, Path]:
    """A forking script whose child writes the PID file only once the test says go.

    The child blocks in open(2) of a FIFO (no polling loop forking `sleep`s, which would
    race with the stop's SIGTERM); `go()` opens the FIFO's other end.
    """
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    child = f"read x < {fifo}; mkdir -p {pidfile.parent}; echo $$ > {pidfile}; exec sleep 1000"
    script = write(tmp_path, "late.sh", f"#!/bin/sh\n/bin/sh -c '{child}' &\nexit 0\n")
    return script, fifo


def go(fifo: Path) -> None:
    # O_NONBLOCK: ENXIO instead of a hang if the child is not there to read.
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"go\n")
    finally:
        os.close(fd)


def start_waiting(pidone_ns: Factory, script: str, pidfile: Path) -> NamespaceDaemon:
    # TimeoutStartSec= beyond the harness's 30 s waits: without the watch, the test fails
    # on its wait instead of passing through the timeout path.
    service = f"[Service]\nType=forking\nPIDFile={pidfile}\nExecStart={script}\n"
    d = pidone_ns({"late.service": service + "TimeoutStartSec=60\n"})
    assert d.cli("start", "--no-block", "late").returncode == 0
    d.wait_for(lambda: WAITING in d.journal("-u", "late.service"), what="the PID file miss")
    assert d.state("late.service") == "activating/start"
    return d


def unit_leftovers(d: NamespaceDaemon) -> list[str]:
    """What of the unit's processes (sh, sleep) still runs in the namespace."""
    return [comm for _pid, _state, comm in d.namespace_processes() if comm in ("sh", "sleep")]


def inotify_fds(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:  # the daemon opens and closes fds meanwhile (client connections, pidfds)
            count += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify"
        except FileNotFoundError:
            continue
    return count


@pytest.mark.parametrize("where", ["same directory", "directory created later"])
def test_pid_file_written_after_the_parent_exited(
    pidone_ns: Factory, tmp_path: Path, where: str
) -> None:
    sub = "" if where == "same directory" else "made/later/"
    pidfile = tmp_path / f"{sub}late.pid"
    script, fifo = late_writer(tmp_path, pidfile)
    d = start_waiting(pidone_ns, script, pidfile)
    go(fifo)
    info = d.wait_state("late.service", "active/running")
    d.wait_for(lambda: d.status("late.service").get("main_comm") == "sleep", what="main comm")
    assert d.status("late.service")["main_pid"] == int(pidfile.read_text())
    assert "late.service: Failed to parse PID" not in d.journal("-u", "late.service")
    assert info["result"] == "success"
    assert d.cli("stop", "late").returncode == 0
    assert not pidfile.exists()
    assert unit_leftovers(d) == []


def test_stop_while_waiting_drops_the_watch(pidone_ns: Factory, tmp_path: Path) -> None:
    pidfile = tmp_path / "late.pid"
    script, _fifo = late_writer(tmp_path, pidfile)
    d = start_waiting(pidone_ns, script, pidfile)
    waiting = inotify_fds(d.pid1)
    assert d.cli("stop", "late").returncode == 0
    assert d.state("late.service") == "inactive/dead"
    assert inotify_fds(d.pid1) == waiting - 1
    assert unit_leftovers(d) == []


def test_nearest_directory(tmp_path: Path) -> None:
    assert nearest_directory(str(tmp_path / "x.pid")) == str(tmp_path)
    assert nearest_directory(str(tmp_path / "a" / "b" / "x.pid")) == str(tmp_path)
    assert nearest_directory("/nonexistent-pidone/x.pid") == "/"
