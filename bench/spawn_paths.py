"""Start N `sleep` processes through each spawn path and print costs and ratios.

    .venv/bin/python bench/spawn_paths.py [N] [BALLAST_MB]

Paths: pidone's fork path (full set-up in a forked child), pidone's posix_spawn path
(linux.fastspawn), a bare os.fork()+execve (what supervisord does) and subprocess.Popen
(what circus does). BALLAST_MB inflates this process's heap to a daemon's size, because
fork() cost grows with the parent's resident memory. Wall time counts the loop only;
CPU is parent + children (RUSAGE_CHILDREN after reaping).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from pidone.core.environment import (
    SELF_PID,
    EnvironmentInputs,
    ManagerVariables,
    build_environment,
)
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.spawn import SpawnRequest, spawn


def cpu() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def measure(label: str, n: int, start: Callable[[], int]) -> float:
    pids: list[int] = []
    c0 = cpu()
    t0 = time.perf_counter()
    for _ in range(n):
        pids.append(start())
    wall = time.perf_counter() - t0
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    used = cpu() - c0
    print(f"{label:22s} wall {wall * 1e3 / n:7.3f} ms/start   cpu {used * 1e3 / n:7.3f} ms/start")
    return wall


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    ballast_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    ballast = [bytes(1000) for _ in range(ballast_mb * 1000)]
    os.chdir("/")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"N={n}, parent RSS {rss} MB, {len(ballast)} ballast blocks")
    ctx = ExecContext(standard_output="null")
    cmd = ExecCommand(path="/bin/sleep", argv=("sleep", "600"))
    exact = build_environment(
        ctx, EnvironmentInputs(variables=ManagerVariables(invocation_id="a" * 32))
    )
    lean = build_environment(
        ctx, EnvironmentInputs(variables=ManagerVariables(invocation_id="a" * 32, exec_pid=False))
    )

    plain = {k: ("0" if v == SELF_PID else v) for k, v in exact.items()}

    def pidone(env: dict[str, str]) -> Callable[[], int]:
        def start() -> int:
            s = spawn(SpawnRequest(cmd, ctx, env))
            if s.status_fd >= 0:
                os.close(s.status_fd)
            if s.pidfd is not None:
                os.close(s.pidfd)
            return s.pid

        return start

    def bare_fork() -> int:
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                os.execve("/bin/sleep", ["sleep", "600"], plain)
            finally:
                os._exit(127)
        return pid

    def popen() -> int:
        p = subprocess.Popen(["/bin/sleep", "600"], env=plain, start_new_session=True)
        return p.pid

    fork_path = measure("pidone fork path", n, pidone(exact))
    fast_path = measure("pidone posix_spawn", n, pidone(lean))
    bare = measure("bare os.fork (supervisor)", n, bare_fork)
    sub = measure("subprocess.Popen (circus)", n, popen)
    print(f"ratio fork path / posix_spawn path: {fork_path / fast_path:5.1f}")
    print(f"ratio bare fork / posix_spawn path: {bare / fast_path:5.1f}")
    print(f"ratio Popen / posix_spawn path:     {sub / fast_path:5.1f}")


if __name__ == "__main__":
    main()
