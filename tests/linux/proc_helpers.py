"""Helpers for tests that start real processes: always kill and reap what they started."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping

from pidone.core.environment import EnvironmentInputs, build_environment
from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.spawn import Spawned, SpawnRequest, spawn

PY = sys.executable


def py(code: str, *extra: str) -> ExecCommand:
    """An ExecCommand running `python -c code` (no $ expansion surprises: `:` prefix)."""
    return ExecCommand(path=PY, argv=(PY, "-S", "-c", code, *extra), no_env_expand=True)


def kill_and_reap(pid: int) -> int | None:
    """SIGKILL `pid` (our child) if it still runs and reap it; its wait status or None."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def kill_pids(pids: list[int]) -> None:
    """SIGKILL processes that are not our children (grandchildren, orphans)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def started(req: SpawnRequest) -> Iterator[Spawned]:
    """spawn() inside a context that always kills, reaps and closes."""
    s = spawn(req)
    try:
        yield s
    finally:
        kill_and_reap(s.pid)
        with contextlib.suppress(OSError):
            os.close(s.status_fd)
        if s.pidfd is not None:
            os.close(s.pidfd)


def wait_exit(pid: int, timeout: float = 20.0) -> int:
    """Wait (bounded, not timed as an assertion) for our child; returns the exit status
    (or 128+signal). Raises TimeoutError if it never ends, so a test fails rather than hangs."""
    deadline = time.monotonic() + timeout
    while True:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got:
            return (
                os.waitstatus_to_exitcode(status)
                if os.WIFEXITED(status)
                else 128 + os.WTERMSIG(status)
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {pid} did not exit")
        time.sleep(0.01)


def env_for(ctx: ExecContext, **variables: object) -> dict[str, str]:
    from pidone.core.environment import ManagerVariables

    return build_environment(ctx, EnvironmentInputs(variables=ManagerVariables(**variables)))  # type: ignore[arg-type]


def run_to_file(
    cmd: ExecCommand, ctx: ExecContext, out: str, env: Mapping[str, str] | None = None, **kw: object
) -> tuple[int, str]:
    """Run with stdout+stderr to file `out`; returns (exit status, output)."""
    from pidone.core.dataclass_lite import replace

    ctx = replace(ctx, standard_output=f"truncate:{out}", standard_error="inherit")
    req = SpawnRequest(cmd, ctx, env if env is not None else env_for(ctx), **kw)  # type: ignore[arg-type]
    with started(req) as s:
        status = wait_exit(s.pid)
    with open(out, encoding="utf-8", errors="replace") as f:
        return status, f.read()


def errnos_in_cgroup(cgroup: str, calls: list[Callable[[], object]]) -> list[int]:
    """errno of each call (0 = it succeeded) made by a forked child that joined `cgroup`
    first: what a cgroup's BPF programs let a member of it do."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only joins, calls and reports
        try:
            with open(f"{cgroup}/cgroup.procs", "w") as f:
                f.write(str(os.getpid()))
            codes = []
            for call in calls:
                try:
                    call()
                    codes.append(0)
                except OSError as exc:
                    codes.append(exc.errno or 255)
            os.write(w, bytes(codes))
        finally:
            os._exit(0)
    os.close(w)
    try:
        got = os.read(r, 64)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return list(got)
