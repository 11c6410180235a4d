"""Where `pidone ps` takes each value from, checked on real processes against procps.

On a kernel /proc, psscan skips /proc/PID/status when no column needs what only status
has (fields.NEED_STATUS_ONLY); the euid then comes from the owner of /proc/PID. These
tests pin the kernel rules that make that exact, and the ones that make it impossible
for STAT (VmLck) and RSS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pidone.linux.psscan import procfs_is_kernel

PS = shutil.which("ps")

NON_DUMPABLE = """
import ctypes, os, sys, time
os.setresuid(65534, 65534, 65534)          # a credential change makes it non-dumpable
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)     # PR_SET_DUMPABLE 0, whatever suid_dumpable says
sys.stdout.write("ready\\n"); sys.stdout.flush()
time.sleep(120)
"""

MLOCKED = """
import ctypes, sys, time
assert ctypes.CDLL(None).mlockall(3) == 0  # MCL_CURRENT | MCL_FUTURE
sys.stdout.write("ready\\n"); sys.stdout.flush()
time.sleep(120)
"""


def _spawn(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _both(argv: list[str]) -> tuple[str, str]:
    if PS is None:
        pytest.skip("procps ps is not installed")
    theirs = subprocess.run([PS, *argv], capture_output=True, text=True, check=True).stdout
    ours = subprocess.run(
        [sys.executable, "-m", "pidone", "ps", *argv], capture_output=True, text=True, check=True
    ).stdout
    return ours, theirs


def _status(pid: int, key: str) -> list[str]:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1:]
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def test_the_proc_directory_owner_is_the_euid_even_when_not_dumpable(spawned) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to change uids")
    proc = _spawn(NON_DUMPABLE)
    spawned.append(proc)
    pid = proc.pid
    # non-dumpable: the kernel gives its /proc files to root (task_dump_owner())...
    assert os.stat(f"/proc/{pid}/status").st_uid == 0
    # ...but not the directory, which keeps the euid that status reports
    assert os.stat(f"/proc/{pid}").st_uid == 65534 == int(_status(pid, "Uid")[1])
    # so the status-free path (euid, user) prints what procps prints from status
    ours, theirs = _both(["-o", "pid,euid,user,vsz,nlwp,s,comm", "-p", str(pid)])
    assert ours == theirs
    assert theirs.splitlines()[1].split()[1] == "65534"


def test_locked_memory_gives_the_L_flag_as_procps(spawned) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (or a large RLIMIT_MEMLOCK) to mlockall")
    proc = _spawn(MLOCKED)
    spawned.append(proc)
    assert int(_status(proc.pid, "VmLck")[0]) > 0
    ours, theirs = _both(["-o", "pid,stat,vsz,rss,comm", "-p", str(proc.pid)])
    assert ours == theirs
    assert "L" in theirs.split()[-4]


def test_rss_is_status_exact_value_not_stat_approximate_one(spawned) -> None:
    # A process that just touched memory: status sums the per-CPU rss counters (recent
    # kernels), stat reads them approximately; procps prints status's VmRSS.
    code = "import sys, time\nx = bytearray(8 << 20)\nsys.stdout.write('ready\\n')\n"
    code += "sys.stdout.flush()\ntime.sleep(120)\n"
    proc = _spawn(code)
    spawned.append(proc)
    time.sleep(0.1)
    ours, theirs = _both(["-o", "pid,rss", "-p", str(proc.pid)])
    assert int(ours.split()[-1]) == int(_status(proc.pid, "VmRSS")[0])
    assert ours == theirs


def test_only_a_kernel_procfs_counts_as_one(tmp_path) -> None:
    assert procfs_is_kernel("/proc")
    assert not procfs_is_kernel(str(tmp_path))
    (tmp_path / "self").mkdir()
    line = f"22 1 0:21 / {tmp_path} rw,nosuid - tmpfs tmpfs rw\n"
    (tmp_path / "self" / "mountinfo").write_text(line)
    assert not procfs_is_kernel(str(tmp_path))
    line = f"22 1 0:21 / {tmp_path} rw,nosuid shared:5 - proc proc rw\n"
    (tmp_path / "self" / "mountinfo").write_text(line)
    assert procfs_is_kernel(str(tmp_path))
