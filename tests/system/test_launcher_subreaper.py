"""`pidone daemon` through the compiled launcher, under another init: the launcher makes it
a child subreaper before exec (prctl(2) PR_SET_CHILD_SUBREAPER survives execve), so the
daemon never loads ctypes for it (issue 3's RSS), and orphans still come back to it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pidone.testing.harness import NamespaceDaemon

pytestmark = pytest.mark.system

LAUNCHER = Path(sys.executable).with_name("pidone")
ORPHAN = "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'sleep 1000 &'\n"


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


@pytest.mark.parametrize(
    "command",
    [[str(LAUNCHER), "daemon"], [str(LAUNCHER.with_name("pidoned"))]],
    ids=["pidone daemon", "pidoned"],
)
def test_a_launched_daemon_is_a_subreaper_without_ctypes(
    tmp_path: Path, command: list[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("a namespace daemon needs root (PID namespaces)")
    if not Path(command[0]).exists() or not _is_elf(Path(command[0])):
        pytest.skip(f"{command[0]} is not the compiled launcher (no C compiler at install)")
    d = NamespaceDaemon(tmp_path / "ns", {"orphan.service": ORPHAN})
    # a shell is the namespace's PID 1 and the daemon its child, as under another init
    d.daemon_command = ["sh", "-c", '"$@" & wait', "sh", *command]
    with d:
        assert d.cli("start", "orphan").returncode == 0
        daemon_pid = d.call("ping")["pid"]
        assert daemon_pid != 1
        procs = d.call("status", units=["orphan.service"])["units"][0]["processes"]
        assert len(procs) == 1, procs  # the orphaned sleep, still in the unit
        status = Path(f"/proc/{d.pid1}/root/proc/{procs[0][0]}/status").read_text()
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        assert int(ppid) == daemon_pid  # re-parented to the daemon, not to the shell (PID 1)
        environ = Path(f"/proc/{d.pid1}/root/proc/{procs[0][0]}/environ").read_bytes()
        assert b"PIDONE_SUBREAPER=" not in environ  # not passed on to services
        # (the launcher runs Python with -I, which ignores PYTHONPROFILEIMPORTTIME: the
        # daemon's memory map says whether _ctypes was loaded)
        children = Path(f"/proc/{d.pid1}/task/{d.pid1}/children").read_text().split()
        daemon = next(p for p in children if "pidone" in Path(f"/proc/{p}/cmdline").read_text())
        maps = Path(f"/proc/{daemon}/maps").read_text()
        assert "pidone" in Path(f"/proc/{daemon}/cmdline").read_text()
        assert "/_ctypes" not in maps
