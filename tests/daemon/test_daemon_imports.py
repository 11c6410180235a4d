"""What the daemon's modules import: the ones it does not need stay out of its RSS.

Issue 3's goal is a manager RSS of at most 3/4 of supervisord's with 100 services
(bench/engine.py; docs/memory.md), and the daemon keeps every module it imports for its
whole life. The child-side modules of a spawn (the Python spawn helper, its stdio step with
termios, mmap) and sysconfig's build variables are not needed in the daemon since the
compiled spawn helper does the child's work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pidone.linux import spawn_cgroup, spawnhelper

SRC = Path(spawn_cgroup.__file__).resolve().parents[2]
DAEMON_MODULES = (
    "pidone.daemon.main",
    "pidone.daemon.executor",
    "pidone.linux.spawn",
    "pidone.linux.spawn_cgroup",
    "pidone.linux.stdio",
)
NOT_IN_THE_DAEMON = (
    "termios",
    "mmap",
    "sysconfig",
    "pidone.linux.spawnhelper",
    "pidone.linux.stdiosteps",
)


def test_the_daemon_does_not_import_the_spawn_childs_modules() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        f" [__import__(m) for m in {DAEMON_MODULES!r}];"
        " print(' '.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(SRC)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert "pidone.daemon.main" in loaded
    assert [m for m in NOT_IN_THE_DAEMON if m in loaded] == []


def test_both_ends_of_the_helper_protocol_read_the_same_reply() -> None:
    """spawn_cgroup states the reply format itself instead of importing spawnhelper."""
    assert spawn_cgroup.REPLY.format == spawnhelper.REPLY.format
    assert spawn_cgroup.HELPER_COMM.encode() == spawnhelper.HELPER_COMM
