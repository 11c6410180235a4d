"""Child subreaper, the waitpid(-1) reaping loop, and pidfd helpers with a waitid fallback.

Kernel lore (man 2 prctl, man 2 waitpid, man 2 pidfd_open, man 7 signal):

* PR_SET_CHILD_SUBREAPER makes orphaned descendants re-parent to us instead of to the PID
  namespace's init, so double-forking daemons stay ours to reap (and to kill).
* Standard signals coalesce: one SIGCHLD may stand for many exits, and an exit may arrive
  while SIGCHLD is already pending. Hence `reap_all` loops `waitpid(-1, WNOHANG)` until no
  zombie is left, and the loop calls it on every SIGCHLD *and* every pidfd wake-up.
* A pidfd becomes readable when its process exits (Linux 5.3+) and stays readable after the
  process is reaped. A pidfd opened while the process is still our unreaped child can never
  refer to a recycled PID, so open it right after fork, before the loop can reap.
* Nothing else in the daemon may wait for children (no subprocess.Popen.wait): a
  waitpid(-1) loop steals their statuses.
"""

from __future__ import annotations

import errno
import os

from pidone.core.dataclass_lite import dataclass
from pidone.core.hints import Final

PR_SET_CHILD_SUBREAPER: Final = 36  # <linux/prctl.h>
PR_GET_CHILD_SUBREAPER: Final = 37
_subreaper = 0  # the PID that is known to be a subreaper already (a fork is not one)


@dataclass(frozen=True, slots=True)
class ChildExit:
    """One reaped child: exit_code for a normal exit, signal for death by signal."""

    pid: int
    exit_code: int | None
    signal: int | None
    core_dumped: bool = False

    @property
    def code_or_128_plus_signal(self) -> int:
        """The shell convention ($?), used e.g. by a PID 1 that exits with its child."""
        if self.exit_code is not None:
            return self.exit_code
        return 128 + (self.signal or 0)


def _prctl(option: int, arg: int) -> int:
    import ctypes  # (only here: a running daemon has no other use for ctypes, ~0.7 MiB)

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.restype = ctypes.c_int
    libc.prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
    result: int = libc.prctl(option, arg, 0, 0, 0)
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")
    return result


def become_subreaper() -> None:
    """Mark this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER, Linux 3.4+).

    The compiled `pidone` launcher (csrc/pidone.c) already did it for `pidone daemon`
    before exec'ing Python (the attribute survives execve(2)) and says so in
    $PIDONE_SUBREAPER, set to the PID it had, which exec keeps: then there is nothing to
    do and ctypes stays unloaded. The variable is dropped either way, so that services
    do not inherit it."""
    global _subreaper
    told = os.environ.pop("PIDONE_SUBREAPER", "")
    if _subreaper == os.getpid() or told == str(os.getpid()):
        _subreaper = os.getpid()
        return
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _subreaper = os.getpid()


def is_subreaper() -> bool:
    """Whether this process is a child subreaper (PR_GET_CHILD_SUBREAPER)."""
    import ctypes

    flag = ctypes.c_int(0)
    _prctl(PR_GET_CHILD_SUBREAPER, ctypes.addressof(flag))  # arg2 is an int *
    return flag.value != 0


def decode_wait_status(pid: int, status: int) -> ChildExit | None:
    """A waitpid() status -> ChildExit; None for stop/continue reports."""
    if os.WIFEXITED(status):
        return ChildExit(pid, os.WEXITSTATUS(status), None, False)
    if os.WIFSIGNALED(status):
        return ChildExit(pid, None, os.WTERMSIG(status), os.WCOREDUMP(status))
    return None


def reap_all() -> list[ChildExit]:
    """Reap every zombie child now (waitpid(-1, WNOHANG) until none is left); never blocks."""
    exits: list[ChildExit] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # ECHILD: no children at all
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue
        if pid == 0:  # children exist, none has exited
            break
        child = decode_wait_status(pid, status)
        if child is not None:
            exits.append(child)
    return exits


def reap(pid: int) -> ChildExit | None:
    """Reap one given child if it has exited; None if it still runs or is not our child."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if got == 0:
        return None
    return decode_wait_status(got, status)


def open_pidfd(pid: int) -> int | None:
    """A close-on-exec pidfd for `pid`, or None where pidfd_open(2) is missing (Linux < 5.3).

    Raises ProcessLookupError if `pid` does not exist (already reaped).
    """
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):  # old kernel, or seccomp'd away
            return None
        raise
    return fd


def has_exited(pid: int) -> bool:
    """Whether child `pid` is a zombie, without reaping it (waitid WEXITED|WNOHANG|WNOWAIT).

    The fallback where pidfds are missing: poll this on SIGCHLD. False if not our child.
    """
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return info is not None and info.si_pid == pid
