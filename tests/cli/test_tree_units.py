"""`pidone tree --units` and `-o json` with unit ownership taken from real cgroup membership."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.cgroup


def _cgroup2_mount() -> Path | None:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[:1] == ["cgroup2"]:
            mount = Path(left.split()[4])
            if os.access(mount, os.W_OK):
                return mount
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def unit_processes():
    mount = _cgroup2_mount()
    if mount is None:
        pytest.skip("no writable cgroup2 hierarchy")
    top = mount / f"pidone-tree-test-{os.getpid()}"
    unit_dir = top / "pidone" / "demo.service"
    unit_dir.mkdir(parents=True)
    owned = subprocess.Popen(["sh", "-c", "read x; sleep 61 & wait"], stdin=subprocess.PIPE)
    loose = subprocess.Popen(["sleep", "62"])
    started = [owned.pid, loose.pid]
    try:
        (unit_dir / "cgroup.procs").write_text(str(owned.pid))
        assert owned.stdin is not None
        owned.stdin.write(b"\n")
        owned.stdin.flush()
        for _ in range(200):
            if _children(owned.pid):
                break
            time.sleep(0.01)
        started += _children(owned.pid)
        yield owned.pid, loose.pid
    finally:
        for pid in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in (owned, loose):
            proc.wait()
        if owned.stdin is not None:
            owned.stdin.close()
        for _ in range(200):
            if not (unit_dir / "cgroup.procs").read_text().strip():
                break
            time.sleep(0.01)
        for path in (unit_dir, unit_dir.parent, top):
            path.rmdir()


def _tree(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pidone", "tree", *args],
        capture_output=True,
        check=True,
        env={**os.environ, "LANG": "C"},
    )
    return done.stdout.decode()


def test_units_group_processes_by_owning_cgroup(unit_processes: tuple[int, int]) -> None:
    owned, loose = unit_processes
    (grandchild,) = _children(owned)
    text = _tree("--units", "-p", "-l", str(os.getpid()))
    assert f"demo.service---sh({owned})---sleep({grandchild})\n" in text
    no_unit = text[text.index("(no unit)") :]
    assert f"sleep({loose})" in no_unit
    assert f"sh({owned})" not in no_unit


def test_json_carries_units(unit_processes: tuple[int, int]) -> None:
    owned, loose = unit_processes
    groups = json.loads(_tree("--units", "-o", "json", str(os.getpid())))
    by_unit = {g["unit"]: g["processes"] for g in groups}
    (sh,) = by_unit["demo.service"]
    assert (sh["pid"], sh["unit"], sh["cmdline"][:2]) == (owned, "demo.service", ["sh", "-c"])
    assert [c["name"] for c in sh["children"]] == ["sleep"]
    (root,) = by_unit[None]
    assert loose in [c["pid"] for c in root["children"]]
    assert owned not in [c["pid"] for c in root["children"]]
