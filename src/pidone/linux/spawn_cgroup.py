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

Two helpers serve the same protocol, each started when first needed. The compiled one
(csrc/pidone-spawn.c, found by find_compiled_helper(): $PIDONE_SPAWN_HELPER, else
`pidone-spawn` next to the interpreter or in the installation's scripts directory) takes
the common plans, those linux.cspawn.encode() accepts: its child is a copy of a few
hundred KiB of C, not of a 3.3 MiB interpreter (bench/spawn_exec.py: ~3.0 ms of CPU per
spawn -> ~1.1). The Python one (linux.spawnhelper) takes every other plan
($SYSTEMD_EXEC_PID in argv, strings execve(2) cannot take; it loads the steps' modules
on first use) and every plan when there is no compiled helper. Plans without a cgroup go through
them too (then without CLONE_INTO_CGROUP: still a clone of a small process instead of a
fork of the daemon). Requests carry the spawn plan (linux.cspawn's encoding for the
compiled helper; the plain tuple, linux.spawnchild.Plan, in marshal for the Python one)
and the fds it names through SCM_RIGHTS (unix(7)); the reply is the PID or an errno.
A compiled helper that cannot read a request (another build: EPROTO) is dropped for the
Python one. Any failure
of the helper (gone, clone3 refused: ENOSYS before 5.7, EBUSY for a cgroup with
controllers and children) makes the caller fall back to fork (+ cgroup.procs) for that
start; ENOSYS and a dead or stuck helper turn the helper off for good.

As PID 1 (a container's init) the helpers are used too. Each is a process of the namespace
that belongs to no unit, so it is made recognisable: comm `pidone-spawn` (prctl(2)
PR_SET_NAME), its own session, the daemon's child; the PID-1 shutdown ends them after the
last unit has stopped and before kill(-1) (`Spawner.stop()`, daemon/main.py).

Each helper is a fresh program, not a fork: it has the capabilities execve(2) gives the
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
from pidone.linux import cspawn

if TYPE_CHECKING:
    from pidone.linux.spawnchild import Plan

_MAX_FDS = 253  # SCM_MAX_FD
_REPLY_TIMEOUT = 10  # seconds
HELPER_COMM = "pidone-spawn"  # the helper's comm (proc(5) /proc/PID/comm), for ps and tests
# The reply of either helper: pid (0 on failure), errno (= linux.spawnhelper.REPLY; that
# module is not imported here: it brings ctypes, mmap and the child steps into the daemon)
REPLY = struct.Struct("=qi")
SPAWN_HELPER_ENV = "PIDONE_SPAWN_HELPER"  # the compiled helper's path; "" = none
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


def find_compiled_helper() -> str:
    """The compiled helper (csrc/pidone-spawn.c) to use, or "" for none.

    $PIDONE_SPAWN_HELPER names it (empty: do not use one); else `pidone-spawn` next to the
    running interpreter (a venv's bin/, where `pip install` puts the scripts of the venv),
    next to the running script (`pidone-py`, `pidoned`: the scripts directory they were
    installed in), or in the scripts directory of this installation (sysconfig "scripts":
    /usr/local/bin for Debian's pip, PREFIX/bin otherwise), the first that is an
    executable file. sysconfig is imported only when the others fail: it loads the
    interpreter's build variables (_sysconfigdata, ~0.45 MiB of the daemon's RSS)."""
    named = os.environ.get(SPAWN_HELPER_ENV)
    if named is not None:
        return named if named and os.access(named, os.X_OK) else ""
    script = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    nearby = [os.path.dirname(sys.executable)]
    if script:
        nearby.append(os.path.dirname(os.path.abspath(script)))
    for directory in nearby:
        path = _executable_in(directory)
        if path:
            return path
    import sysconfig

    return _executable_in(sysconfig.get_path("scripts"))


def _executable_in(directory: str) -> str:
    path = os.path.join(directory, HELPER_COMM)
    if directory and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return ""


class _Helper:
    """One helper process and the daemon's end of its socket."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.sock: socket.socket | None = None
        self.pid = 0
        self.served = 0

    def start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # posix_spawn: clone(CLONE_VM|CLONE_VFORK) in glibc, no copy of the daemon and no
            # Python in the child before execve. dup2 onto 3 clears FD_CLOEXEC there.
            self.pid = os.posix_spawn(
                self.argv[0],
                self.argv,
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
        self.sock = parent

    def request(self, data: bytes, fds: list[int]) -> tuple[int, int]:
        """(pid, errno) for one request; raises OSError (helper gone, stuck, EMSGSIZE)."""
        if self.sock is None:
            self.start()
        assert self.sock is not None
        self.sock.sendmsg(
            [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
        )
        reply = self.sock.recv(REPLY.size)
        if len(reply) != REPLY.size:
            raise ConnectionError("spawn helper gone")
        pid, err = REPLY.unpack(reply)
        self.served += pid > 0
        return int(pid), int(err)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()  # the helper sees EOF and exits; the reaper collects it
            self.sock = None


class Spawner:
    """The daemon's handle on the helpers; `spawn()` returns 0 when the caller must fork.

    Two helpers, each started when first needed: the compiled one (csrc/pidone-spawn.c,
    found by find_compiled_helper()) for the plans linux.cspawn encodes, the Python one
    (linux.spawnhelper) for the others and for every plan when there is no compiled one."""

    def __init__(self) -> None:
        self.disabled = False
        self._python: _Helper | None = None
        self._compiled: _Helper | None = None
        self._compiled_path: str | None = None  # None: not looked up yet; "": none/off
        self._last: _Helper | None = None

    @property
    def pid(self) -> int:
        """The PID of the helper that served the last start (else of a running one), 0
        when none runs."""
        helpers = [self._last, self._compiled, self._python]
        return next((h.pid for h in helpers if h is not None and h.pid), 0)

    @property
    def pids(self) -> list[int]:
        """Every helper this handle started (both kinds), for the caller's reaper."""
        return [h.pid for h in (self._compiled, self._python) if h is not None and h.pid]

    @property
    def compiled_pid(self) -> int:
        return self._compiled.pid if self._compiled is not None else 0

    @property
    def python_pid(self) -> int:
        return self._python.pid if self._python is not None else 0

    @property
    def served(self) -> int:
        """Starts carried out by the helpers."""
        return sum(h.served for h in (self._compiled, self._python) if h is not None)

    @property
    def compiled_served(self) -> int:
        return self._compiled.served if self._compiled is not None else 0

    def compiled_path(self) -> str:
        if self._compiled_path is None:
            self._compiled_path = find_compiled_helper()
        return self._compiled_path

    def use_compiled(self, on: bool) -> None:
        """Turn the compiled helper off (plans go to the Python one) or back on (it is
        looked up again); for the bench and tests."""
        if not on and self._compiled is not None:
            self._compiled.close()
        self._compiled_path = None if on else ""

    def _helper(self, compiled: bool) -> _Helper:
        if compiled:
            path = self.compiled_path()
            if self._compiled is not None and self._compiled.argv[0] != path:
                self._compiled.close()  # (use_compiled() found another one)
                self._compiled = None
            if self._compiled is None:
                self._compiled = _Helper([path, _daemon_comm()])
            return self._compiled
        if self._python is None:
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            argv = [sys.executable, "-I", "-S", "-c", _BOOT, root, _daemon_comm()]
            wrapper = find_compiled_helper()  # (even when it serves no plans)
            if wrapper:
                # through the compiled one's --exec: glibc's internal signals 32 and 33, left
                # ignored by posix_spawn(3), set back to SIG_DFL (csrc/pidone-spawn.c)
                argv = [wrapper, "--exec", *argv]
            self._python = _Helper(argv)
        return self._python

    def start(self, python_too: bool = False) -> None:
        """Start a helper now (it boots while the caller goes on) unless one runs: the
        compiled one when there is one, else the Python one. `python_too`: the Python one
        as well, so that the first plan it must take ($SYSTEMD_EXEC_PID in argv) does not wait
        for its interpreter to boot (~35 ms, in the caller) at the cost of its memory
        (PSS ~3.8 MiB)."""
        if self.disabled or os.environ.get("PIDONE_NO_CLONE3"):
            return
        if self.compiled_path() and not self.compiled_pid:
            try:
                self._helper(True).start()
            except OSError:
                self._compiled_path = ""  # (not executable after all: the Python one)
        if (python_too or not self.compiled_path()) and not self.python_pid:
            try:
                self._helper(False).start()
            except OSError:
                self.disabled = True

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
            return self._spawn(plan, err_w, cg_fd)
        finally:
            if cg_fd >= 0:
                os.close(cg_fd)

    def _spawn(self, plan: Plan, err_w: int, cg_fd: int) -> int:
        fds = cspawn.fd_order(plan, err_w, cg_fd)
        data = cspawn.encode(plan, cg_fd >= 0) if self.compiled_path() else None
        helper = None
        if data is not None:
            helper = self._helper(True)
            try:
                pid, err = helper.request(data, fds)
            except OSError as exc:
                if exc.errno == errno.ENOENT or exc.errno == errno.EACCES:
                    pid, err = 0, errno.EPROTO  # (posix_spawn: no such program now)
                else:
                    return self._failed(exc)
            if err == errno.EPROTO:  # a helper of another build: the Python one from now
                helper.close()
                self._compiled_path = ""
                data = None
        if data is None:
            try:
                data = marshal.dumps((fds, plan, cg_fd >= 0))
            except ValueError:  # a value marshal cannot carry: this start forks
                return 0
            helper = self._helper(False)
            try:
                pid, err = helper.request(data, fds)
            except OSError as exc:
                return self._failed(exc)
        self._last = helper
        if err == errno.ENOSYS:  # no clone3 (Linux < 5.3) or seccomp-filtered
            self.disabled = True
        return pid

    def _failed(self, exc: OSError) -> int:
        if exc.errno != errno.EMSGSIZE:  # (a huge environment: this start forks)
            self._drop()  # helper gone, stuck or never started: fork from now on
        return 0

    def _drop(self) -> None:
        self.close()
        self.disabled = True
        for pid in self.pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)  # our child: the reaper collects it

    def close(self) -> None:
        for helper in (self._compiled, self._python):
            if helper is not None:
                helper.close()

    def stop(self, timeout: float = 1.0) -> None:
        """End the helpers for good and wait (at most `timeout`) until they have exited;
        they are left unreaped (zombies) for the caller's reaper. SIGKILL if one does not
        go."""
        self.disabled = True
        self.close()
        pids = self.pids
        if not pids:
            return
        import select

        pidfds = []
        for pid in pids:
            with contextlib.suppress(OSError):  # already reaped
                pidfds.append((pid, os.pidfd_open(pid)))
        try:
            for pid, pidfd in pidfds:  # readable = exited
                if not select.select([pidfd], [], [], timeout)[0]:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        finally:
            for _pid, pidfd in pidfds:
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
