"""clone3(CLONE_INTO_CGROUP) spawner: service processes born in their cgroup, no migration.

Why (bench/RESULTS.md "engine"): a child that joins its cgroup by writing "0" to
cgroup.procs makes a *migration*. cgroup_procs_write() takes the hierarchy-wide
cgroup_mutex and cgroup_threadgroup_rwsem for writing; the rwsem's rcu_sync_enter() waits
for an RCU grace period (10-25 ms on this box) unless the hierarchy is mounted with
`favordynmods` (Linux 6.0+, cgroup-v2.rst). Meanwhile every fork() and exit() on the host
waits (cgroup_can_fork(), cgroup_exit() take the rwsem for reading) and every cgroup mkdir
waits for the mutex. clone3(2) with CLONE_INTO_CGROUP (Linux 5.7+) places the child at
birth: the rwsem is only read-locked, there is no grace period.

Python has no clone3 wrapper, and a raw clone3 through ctypes is only safe in a
single-threaded process: it bypasses glibc's fork handlers (malloc arena locks, stdio
locks), so a child of the daemon could deadlock on a malloc lock held by the journal
writer thread at that instant. Hence a helper (linux.spawnhelper): a fresh, small
interpreter started once with posix_spawn(3) (vfork-style: safe in the threaded daemon,
and nothing of the daemon's memory is copied). It serves requests single-threaded: for
each it clone3()s with CLONE_PARENT, so the service is the *daemon's* child (its reaper
and pidfds work as for a fork), and the new process runs linux.spawnchild's steps, then
execve. Being small is the point: clone3 copies the page tables of the caller's anonymous
memory, 1.5 ms for a fork of the 21 MiB daemon (the helper used to be one).

Every plan goes through the helper, sandboxed and privileged ones too (the helper loads
those steps' modules on first use), and plans without a cgroup as well (then without
CLONE_INTO_CGROUP: still a clone of a small process instead of a fork of the daemon).
Requests carry the spawn plan (a plain tuple, linux.spawnchild.Plan, in marshal) and the
fds it names through SCM_RIGHTS (unix(7)); the reply is the PID or an errno. Any failure
of the helper (gone, clone3 refused: ENOSYS before 5.7, EBUSY for a cgroup with
controllers and children) makes the caller fall back to fork (+ cgroup.procs) for that
start; ENOSYS and a dead or stuck helper turn the helper off for good.

As PID 1 (a container's init) the helper is used too. It is a process of the namespace
that belongs to no unit, so it is made recognisable: comm `pidone-spawn` (prctl(2)
PR_SET_NAME), its own session, the daemon's child; the PID-1 shutdown ends it after the
last unit has stopped and before kill(-1) (`Spawner.stop()`, daemon/main.py).

The helper is a fresh interpreter, not a fork: it has the capabilities execve(2) gives the
daemon's user (for root: the bounding set), the daemon's rlimits, umask and stdio as they
were when it started (at the first spawn, or at `Spawner.start()`); every plan sets its
own umask, cwd, environment and stdio.
"""

from __future__ import annotations

import contextlib
import errno
import marshal
import os
import signal
import socket
import struct
import sys

from pidone.core.hints import TYPE_CHECKING
from pidone.linux.spawnhelper import REPLY

if TYPE_CHECKING:
    from pidone.linux.spawnchild import Plan

_MAX_FDS = 253  # SCM_MAX_FD
_REPLY_TIMEOUT = 10  # seconds
HELPER_COMM = "pidone-spawn"  # the helper's comm (proc(5) /proc/PID/comm), for ps and tests
# The helper's whole program: the package root comes as argv[1] (-I leaves the script
# directory and site-packages off sys.path), the daemon's comm as argv[2].
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pidone.linux.spawnhelper import serve;"
    " serve(3, sys.argv[2].encode())"
)
_KEEP_SIGNALS = (signal.SIGKILL, signal.SIGSTOP, 32, 33)  # 32, 33: glibc's own (NPTL)


def is_spawn_helper(pid: int, daemon_pid: int) -> bool:
    """`pid` is the spawn helper of the daemon `daemon_pid`: its child named HELPER_COMM
    that leads its own session. (A service child between clone3 and execve shares the
    helper's session and has taken the daemon's name back.)"""
    from pidone.linux import procfs

    data = procfs.read_file(f"/proc/{pid}/stat")
    if data is None:
        return False
    try:
        _pid, comm, fields = procfs.split_stat(data)  # fields: state ppid pgrp session ...
    except ValueError:
        return False
    return (
        comm == HELPER_COMM.encode()
        and len(fields) > 3
        and fields[1] == str(daemon_pid).encode()
        and fields[3] == str(pid).encode()
    )


def eligible(plan: Plan) -> bool:
    """Few enough fds for one SCM_RIGHTS message (cgroup and error pipe included)."""
    return len(plan[12]) + 5 <= _MAX_FDS


def _daemon_comm() -> str:
    try:
        with open("/proc/self/comm", "rb") as f:
            return f.read().rstrip(b"\n").decode("utf-8", "surrogateescape")
    except OSError:
        return "pidone"


# --------------------------------------------------------------------------- daemon side


class Spawner:
    """The daemon's handle on the helper; `spawn()` returns 0 when the caller must fork."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self.pid = 0
        self.disabled = False
        self.served = 0  # starts carried out by the helper

    def start(self) -> None:
        """Start the helper now (it boots while the caller goes on) unless it runs."""
        if self._sock is None and not self.disabled and not os.environ.get("PIDONE_NO_CLONE3"):
            try:
                self._start()
            except OSError:
                self.disabled = True

    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            argv = [sys.executable, "-I", "-S", "-c", _BOOT, root, _daemon_comm()]
            # posix_spawn: clone(CLONE_VM|CLONE_VFORK) in glibc, no copy of the daemon and no
            # Python in the child before execve. dup2 onto 3 clears FD_CLOEXEC there.
            self.pid = os.posix_spawn(
                sys.executable,
                argv,
                os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, child.fileno(), 3)],
                setsid=True,  # its own session: no terminal signals; is_spawn_helper()
                setsigmask=(),
                setsigdef=[s for s in range(1, signal.NSIG) if s not in _KEEP_SIGNALS],
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        # A stuck helper must not hang the manager: after this long the start forks and
        # the helper is dropped (socket(7) SO_RCVTIMEO/SO_SNDTIMEO: the kernel times the
        # blocking call out with EAGAIN, no poll(2) before each call as settimeout() does).
        # (A clone3 that still completes late leaves its process in the unit's cgroup,
        # where the unit's stop finds it; the reaper collects it.)
        timeval = struct.pack("@ll", _REPLY_TIMEOUT, 0)
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        self._sock = parent

    def spawn(self, plan: Plan, err_w: int, cgroup_dir: str) -> int:
        """Start `plan` (inside `cgroup_dir` unless it is ""); 0 = not done, fork instead."""
        if self.disabled or not eligible(plan):
            return 0
        cg_fd = -1
        if cgroup_dir:
            try:
                cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return 0
        try:
            fds = [err_w] if cg_fd < 0 else [cg_fd, err_w]
            fds += [src[1] for src in plan[11] if src[0] == "fd"]  # ("copy": the child's own)
            fds += plan[12]
            try:
                data = marshal.dumps((fds, plan, cg_fd >= 0))
            except ValueError:  # a value marshal cannot carry: this start forks
                return 0
            if self._sock is None:
                self._start()
            assert self._sock is not None
            self._sock.sendmsg(
                [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
            )
            reply = self._sock.recv(REPLY.size)
            if len(reply) != REPLY.size:
                raise ConnectionError("spawn helper gone")
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:  # (a huge environment: this start forks)
                self._drop()  # helper gone, stuck or never started: fork from now on
            return 0
        finally:
            if cg_fd >= 0:
                os.close(cg_fd)
        pid, err = REPLY.unpack(reply)
        if err == errno.ENOSYS:  # no clone3 (Linux < 5.3) or seccomp-filtered
            self.disabled = True
        self.served += pid > 0
        return int(pid)

    def _drop(self) -> None:
        self.close()
        self.disabled = True
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)  # our child: the reaper collects it

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()  # the helper sees EOF and exits; the reaper collects it
            self._sock = None

    def stop(self, timeout: float = 1.0) -> None:
        """End the helper for good and wait (at most `timeout`) until it has exited; it is
        left unreaped (a zombie) for the caller's reaper. SIGKILL if it does not go."""
        self.disabled = True
        self.close()
        if not self.pid:
            return
        import select

        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:  # already reaped
            return
        try:
            if not select.select([pidfd], [], [], timeout)[0]:  # readable = exited
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
        finally:
            os.close(pidfd)


_SPAWNER = Spawner()


def spawn_into(plan: Plan, err_w: int, cgroup_dir: str) -> int:
    """Start `plan` through the helper (inside `cgroup_dir` unless it is ""); 0 = not
    done, fork instead."""
    # As PID 1 too (a container's init: where the migration costs most): the helper is
    # named HELPER_COMM, the PID-1 shutdown closes it after the last unit stopped
    # (daemon/main.py), and testing.harness leaves it out of "what is left in the
    # namespace". PIDONE_NO_CLONE3=1 turns the path off (fork + cgroup.procs, as before).
    if os.environ.get("PIDONE_NO_CLONE3"):
        return 0
    return _SPAWNER.spawn(plan, err_w, cgroup_dir)


def spawner() -> Spawner:
    """The process-wide helper handle (its PID and counters, for tests and the bench)."""
    return _SPAWNER
