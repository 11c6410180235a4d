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
writer thread at that instant. Hence a helper: the daemon forks once (os.fork, which
runs those handlers), the helper closes every inherited fd but its socket, resets signal
dispositions, and then serves requests single-threaded. For each request it clone3()s
with CLONE_PARENT, so the service is the *daemon's* child (its reaper and pidfds work as
for a fork), and the new process runs linux.spawn's child steps, then execve.

Requests carry the spawn plan (marshal of plain values, dataclasses as tuples; marshal is
loaded anyway and pickle would add ~0.4 MiB to the daemon) and the fds it names through
SCM_RIGHTS (unix(7)); the reply is the PID or an errno. Any failure of the helper (gone,
clone3 refused: ENOSYS before 5.7, EBUSY for a cgroup with controllers and children)
makes the caller fall back to fork + cgroup.procs for that start; ENOSYS and a dead helper
turn the helper off for good.

As PID 1 (a container's init) the helper is used too. It is a process of the namespace
that belongs to no unit, so it is made recognisable: comm `pidone-spawn` (prctl(2)
PR_SET_NAME), its own session, the daemon's child; the PID-1 shutdown ends it after the
last unit has stopped and before kill(-1) (`Spawner.stop()`, daemon/main.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import marshal
import os
import signal
import socket
import struct
from typing import TYPE_CHECKING

from pidone.core import dataclass_lite as dataclasses

if TYPE_CHECKING:
    from pidone.linux.spawn import _Plan

CLONE_PARENT = 0x00008000
CLONE_INTO_CGROUP = 0x200000000
SYS_CLONE3 = (
    435  # the same number on every architecture (added after the syscall table unification)
)
_REPLY = struct.Struct("=qi")  # pid (0 on failure), errno
_MAX_FDS = 253  # SCM_MAX_FD
_REPLY_TIMEOUT = 10.0  # seconds
_DATACLASS = "\0dc"
PR_SET_NAME = 15  # <linux/prctl.h>
HELPER_COMM = "pidone-spawn"  # the helper's comm (proc(5) /proc/PID/comm), for ps and tests


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


class _CloneArgs(ctypes.Structure):
    """struct clone_args (linux/sched.h), CLONE_ARGS_SIZE_VER2: 88 bytes."""

    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
            "stack_size", "tls", "set_tid", "set_tid_size", "cgroup",
        )
    ]  # fmt: skip


# --------------------------------------------------------------------------- encoding


def _encode(value: object) -> object:
    """Plain values for marshal; a dataclass becomes (marker, module, name, fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = tuple(_encode(getattr(value, f.name)) for f in dataclasses.fields(value))
        return (_DATACLASS, cls.__module__, cls.__qualname__, fields)
    if isinstance(value, tuple):
        return tuple(_encode(v) for v in value)
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: object) -> object:
    if isinstance(value, tuple):
        if len(value) == 4 and value[0] == _DATACLASS:
            _, module, name, fields = value
            if not str(module).startswith("pidone."):
                raise ValueError(f"unexpected class {module}.{name}")
            cls = getattr(importlib.import_module(str(module)), str(name))
            return cls(*(_decode(v) for v in fields))
        return tuple(_decode(v) for v in value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def _plan_fds(plan: _Plan, err_w: int) -> list[int]:
    """Every fd the child steps use, in a fixed order: err_w, stdio, passed fds."""
    fds = [err_w]
    fds += [src.fd for src in plan.stdio if src.kind == "fd"]  # ("copy": the child's own)
    fds += list(plan.pass_fds)
    return fds


def eligible(plan: _Plan) -> bool:
    """Plans this path carries: no sandbox and no capability/scheduling work (those keep
    the fork path, where they are tested), and few enough fds for one SCM_RIGHTS message."""
    return plan.sandbox is None and plan.privileges.empty and len(plan.pass_fds) < 200


# --------------------------------------------------------------------------- daemon side


class Spawner:
    """The daemon's handle on the helper; `spawn()` returns 0 when the caller must fork."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self.pid = 0
        self.disabled = False
        self.served = 0  # starts carried out by the helper

    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the helper
            try:
                parent.close()
                _serve(child.detach())
            finally:
                os._exit(0)
        child.close()
        # A stuck helper must not hang the manager: after this long the start forks and
        # the helper is dropped. (A clone3 that still completes late leaves its process in
        # the unit's cgroup, where the unit's stop finds it; the reaper collects it.)
        parent.settimeout(_REPLY_TIMEOUT)
        self._sock, self.pid = parent, pid

    def spawn(self, plan: _Plan, err_w: int, cgroup_dir: str) -> int:
        if self.disabled or not eligible(plan):
            return 0
        try:
            data = marshal.dumps(_encode(plan))  # type: ignore[arg-type]
        except ValueError:  # a value marshal cannot carry: this start forks
            return 0
        try:
            cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return 0
        try:
            if self._sock is None:
                self._start()
            assert self._sock is not None
            fds = [cg_fd, *_plan_fds(plan, err_w)]
            rights = struct.pack(f"{len(fds)}i", *fds)
            self._sock.sendmsg(
                [struct.pack(f"=i{len(fds)}i", len(fds), *fds), data],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)],
            )
            reply = self._sock.recv(_REPLY.size)
            if len(reply) != _REPLY.size:
                raise ConnectionError("spawn helper gone")
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:  # (a huge environment: this start forks)
                self.close()
                self.disabled = True  # helper gone or stuck: fork from now on
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)  # our child: the reaper collects it
            return 0
        finally:
            os.close(cg_fd)
        pid, err = _REPLY.unpack(reply)
        if err == errno.ENOSYS:  # no clone3 (Linux < 5.3) or seccomp-filtered
            self.disabled = True
        self.served += pid > 0
        return int(pid)

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


def spawn_into(plan: _Plan, err_w: int, cgroup_dir: str) -> int:
    """Start `plan` inside `cgroup_dir` through the helper; 0 = not done, fork instead."""
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


# --------------------------------------------------------------------------- the helper


def _serve(sock_fd: int) -> None:  # pragma: no cover - runs in the helper process
    """The helper's loop: single-threaded from here on (only this thread survived fork)."""
    from pidone.linux.spawn import _child

    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for sig in range(1, signal.NSIG):
        if sig not in (signal.SIGKILL, signal.SIGSTOP, 32, 33):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    # Its own session: no terminal signals, and testing.harness tells it apart from a
    # not-yet-exec'd service child (those inherit the session) by sid == pid.
    os.setsid()
    os.closerange(3, sock_fd)
    os.closerange(sock_fd + 1, 0x7FFFFFFF)
    sock = socket.socket(fileno=sock_fd)
    libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held, as in os.fork
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    # prctl(2) PR_SET_NAME: `ps` and `pidone ps` show the helper as what it is; each
    # service child takes the daemon's comm back before its own steps, as a fork child of
    # the daemon has it until execve(2) sets the program's.
    with open("/proc/self/comm", "rb") as f:
        daemon_comm = ctypes.create_string_buffer(f.read().rstrip(b"\n")[:15])
    helper_comm = ctypes.create_string_buffer(HELPER_COMM.encode())
    libc.prctl(PR_SET_NAME, helper_comm, 0, 0, 0)
    api = ctypes.pythonapi
    while True:
        try:
            msg, anc, _flags, _addr = sock.recvmsg(1 << 20, socket.CMSG_SPACE(_MAX_FDS * 4))
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)
        got: list[int] = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                got += struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4])
        pid = err = 0
        try:
            # header: n, the daemon's n fd numbers (cgroup, err_w, ...), then the plan
            (count,) = struct.unpack_from("=i", msg)
            old = struct.unpack_from(f"={count}i", msg, 4)
            encoded = marshal.loads(msg[4 + 4 * count :])
            mapping = dict(zip(old, got, strict=True))
            plan = _remap(_decode(encoded), mapping)  # type: ignore[arg-type]
            args = _CloneArgs(flags=CLONE_PARENT | CLONE_INTO_CGROUP, cgroup=mapping[old[0]])
            api.PyOS_BeforeFork()
            pid = syscall(SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args))
            if pid == 0:
                api.PyOS_AfterFork_Child()
                libc.prctl(PR_SET_NAME, daemon_comm, 0, 0, 0)
                _child(plan, mapping[old[1]])  # execs or _exits
                os._exit(255)
            err = ctypes.get_errno() if pid < 0 else 0
            api.PyOS_AfterFork_Parent()
            pid = max(pid, 0)
        except Exception:
            pid, err = 0, 5  # EIO: the daemon falls back to fork
        finally:
            for fd in got:
                with contextlib.suppress(OSError):
                    os.close(fd)
        sock.send(_REPLY.pack(pid, err))


def _remap(plan: _Plan, mapping: dict[int, int]) -> _Plan:
    """The plan with the helper's fd numbers; the child is already in its cgroup."""
    stdio = tuple(
        dataclasses.replace(src, fd=mapping[src.fd]) if src.kind == "fd" else src
        for src in plan.stdio
    )
    return dataclasses.replace(
        plan,
        cgroup_fd=-1,
        stdio=stdio,  # type: ignore[arg-type]
        pass_fds=tuple(mapping[fd] for fd in plan.pass_fds),
    )
