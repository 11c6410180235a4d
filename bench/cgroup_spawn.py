"""What a child's cgroup placement costs: fork+join vs clone3(CLONE_INTO_CGROUP) vs none.

Measures, from a Python process of about the daemon's size (~30 MiB), the median time until
the spawning call returns and until the child (`/bin/sleep 0`) has exited, for:

* fork, the child writes "0" to the cgroup's cgroup.procs, then execs (what pidone does);
* clone3(2) with CLONE_INTO_CGROUP (Linux 5.7+) through ctypes, wrapped in
  PyOS_BeforeFork/PyOS_AfterFork_* like os.fork (safe here only because this script is
  single-threaded: a raw clone3 skips glibc's fork handlers, e.g. the malloc locks);
* plain fork and posix_spawn with no cgroup at all (the floor).

A cgroup.procs write (a migration) takes cgroup_threadgroup_rwsem for writing and waits
for an RCU grace period unless the hierarchy is mounted with `favordynmods` (Linux 6.0+).
Root only; makes and removes a scratch cgroup under the daemon's cgroup2 mount.
Run as: `.venv/bin/python bench/cgroup_spawn.py [--runs 30]`.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from pidone.linux.cgroups import find_writable_cgroup2

CLONE_INTO_CGROUP = 0x200000000
SYS_CLONE3 = 435  # x86_64 and aarch64


class CloneArgs(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
            "stack_size", "tls", "set_tid", "set_tid_size", "cgroup",
        )
    ]  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=30)
    opts = p.parse_args()
    found = find_writable_cgroup2()
    if found is None:
        print("no writable cgroup2 hierarchy", file=sys.stderr)
        return 1
    cg = f"{found.own_dir.rstrip('/')}/bench-cgroup-spawn-{os.getpid()}"
    os.mkdir(cg)
    libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL keeps the GIL held, like os.fork
    api = ctypes.pythonapi
    cg_fd = os.open(cg, os.O_RDONLY | os.O_DIRECTORY)
    procs = os.open(f"{cg}/cgroup.procs", os.O_WRONLY)
    ballast = [str(i) * 10 for i in range(300_000)]  # about the daemon's RSS

    def fork_join() -> int:
        pid = os.fork()
        if pid == 0:
            os.write(procs, b"0")
            os.execv("/bin/sleep", ["sleep", "0"])
        return pid

    def clone_into() -> int:
        args = CloneArgs(flags=CLONE_INTO_CGROUP, exit_signal=17, cgroup=cg_fd)  # SIGCHLD
        api.PyOS_BeforeFork()
        pid = int(libc.syscall(SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args)))
        if pid == 0:
            api.PyOS_AfterFork_Child()
            os.execv("/bin/sleep", ["sleep", "0"])
        api.PyOS_AfterFork_Parent()
        if pid < 0:
            raise OSError(ctypes.get_errno(), "clone3")
        return pid

    def plain_fork() -> int:
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/sleep", ["sleep", "0"])
        return pid

    def spawn() -> int:
        return os.posix_spawn("/bin/sleep", ["sleep", "0"], {})

    cases: list[tuple[str, Callable[[], int]]] = [
        ("fork + child joins cgroup", fork_join),
        ("clone3 CLONE_INTO_CGROUP", clone_into),
        ("fork, no cgroup", plain_fork),
        ("posix_spawn, no cgroup", spawn),
    ]
    print(f"load average {os.getloadavg()[0]:.1f}, {len(ballast)} ballast strings")
    print("| how | call returns (median ms) | child exited (median ms) |\n|---|---|---|")
    try:
        for name, fn in cases:
            returned, exited = [], []
            for _ in range(opts.runs):
                t0 = time.monotonic()
                pid = fn()
                t1 = time.monotonic()
                os.waitpid(pid, 0)
                returned.append(t1 - t0)
                exited.append(time.monotonic() - t0)
                time.sleep(0.02)
            print(
                f"| {name} | {statistics.median(returned) * 1e3:.2f} "
                f"| {statistics.median(exited) * 1e3:.2f} |"
            )
    finally:
        os.close(procs)
        os.close(cg_fd)
        os.rmdir(cg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
