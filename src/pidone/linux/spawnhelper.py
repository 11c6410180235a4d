"""The spawn helper process: a small fresh interpreter that clone3()s each service for the daemon.

Started by linux.spawn_cgroup (`Spawner`) with posix_spawn(3) as `python -I -S -c ...`
(isolated, no site: no site-packages, no .pth files), it imports only this module,
linux.spawnchild, marshal, _socket, mmap and ctypes: ~3.4 MiB of anonymous memory (a bare
`python -I -S` has ~2.7) against the daemon's ~9, so the page tables clone3(2) copies are
few (clone3 without CLONE_VM copies the page tables of every anonymous mapping,
kernel/fork.c dup_mmap(); file mappings are left to fault in), and so is what the child's
execve(2) tears down. Modules that rarer plans need are loaded by spawnchild.prepare() on
first use, and the ones it loads are kept small for this reason: linux.mountns (not
linux.sandbox), linux.rlimits (not linux.execprep), linux.privsteps (not
linux.privileges), linux.stdiosteps (not linux.stdio); each of the latter brings
pidone.core.model in (~2 MiB, +60%, for every later spawn of every service).

When a compiled helper is installed (csrc/pidone-spawn.c, linux.spawn_cgroup), this one
serves only the plans linux.cspawn leaves to Python ($SYSTEMD_EXEC_PID in argv, strings
execve(2) cannot take) and starts with the first of them.

Protocol (SOCK_SEQPACKET, one message per request, unix(7) SCM_RIGHTS for the fds):
request = marshal of (fd numbers as the daemon knows them, plan, into_cgroup), the same
fds attached in that order; reply = struct "=qi" (pid, errno), pid 0 on failure. The
first fd is the cgroup directory when into_cgroup is true, then the error pipe.
"""

from __future__ import annotations

import _socket
import ctypes
import gc
import marshal
import mmap
import os
import struct

from pidone.linux import spawnchild

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not loaded here
if TYPE_CHECKING:
    import signal as _signal
    from typing import NoReturn

    from pidone.linux.spawnchild import Plan
else:
    import _signal  # the C module: `signal` would import enum

CLONE_PARENT = 0x00008000
CLONE_INTO_CGROUP = 0x200000000
SYS_CLONE3 = 435  # the same number on every architecture (after the syscall table unification)
PR_SET_NAME = 15  # <linux/prctl.h>
HELPER_COMM = b"pidone-spawn"  # = linux.spawn_cgroup.HELPER_COMM
REPLY = struct.Struct("=qi")  # pid (0 on failure), errno
MAX_FDS = 253  # SCM_MAX_FD
MAX_REQUEST = 1 << 20  # larger requests fail (MSG_TRUNC): the daemon forks for that one
_EIO = 5


class _CloneArgs(ctypes.Structure):
    """struct clone_args (linux/sched.h), CLONE_ARGS_SIZE_VER2: 88 bytes."""

    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
            "stack_size", "tls", "set_tid", "set_tid_size", "cgroup",
        )
    ]  # fmt: skip


def remap(plan: Plan, mapping: dict[int, int]) -> Plan:
    """The plan with the helper's fd numbers; cgroup.procs is not used (born inside)."""
    fields = list(plan)
    fields[spawnchild.CGROUP_FD] = -1
    fields[spawnchild.RESET_SIGNALS] = ()  # the helper's dispositions are all SIG_DFL
    fields[spawnchild.STDIO] = tuple(
        (src[0], mapping[src[1]], *src[2:]) if src[0] == "fd" else src
        for src in plan[spawnchild.STDIO]
    )
    fields[spawnchild.PASS_FDS] = tuple(mapping[fd] for fd in plan[spawnchild.PASS_FDS])
    return tuple(fields)  # type: ignore[return-value]


def _take_name(name: bytes, libc: ctypes.CDLL, buffer: ctypes.Array[ctypes.c_char]) -> None:
    """In a new child: take the daemon's comm (proc(5) /proc/self/comm, the same as
    prctl(2) PR_SET_NAME for the calling thread). A write through os costs the child ~7
    copy-on-write faults; the ctypes call ~50 more (argument conversion, the errno swap),
    so prctl is only the fallback when /proc is not mounted."""
    try:
        fd = os.open(b"/proc/self/comm", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, name)
        finally:
            os.close(fd)
    except OSError:
        libc.prctl(PR_SET_NAME, buffer, 0, 0, 0)


def serve(sock_fd: int, daemon_comm: bytes) -> NoReturn:  # pragma: no cover - the helper
    """The helper's loop, single-threaded; it ends on EOF from the daemon."""
    os.closerange(3, sock_fd)
    os.closerange(sock_fd + 1, 0x7FFFFFFF)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, sock_fd)
    libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held, as in os.fork
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    # prctl(2) PR_SET_NAME: `ps` and `pidone ps` show the helper as what it is; each
    # service child takes the daemon's comm back before its own steps, as a fork child of
    # the daemon has it until execve(2) sets the program's.
    own_comm = ctypes.create_string_buffer(HELPER_COMM)
    child_name = daemon_comm[:15]
    child_comm = ctypes.create_string_buffer(child_name)
    libc.prctl(PR_SET_NAME, own_comm, 0, 0, 0)
    args = _CloneArgs()
    # Every disposition back to SIG_DFL (the interpreter's start-up installed a SIGINT
    # handler and ignores SIGPIPE and SIGXFSZ; ignored dispositions survive execve(2)), so
    # a child starts from the defaults; SIGPIPE is set per plan before each clone3.
    for sig in range(1, _signal.NSIG):
        if sig not in (_signal.SIGKILL, _signal.SIGSTOP, 32, 33):
            try:  # noqa: SIM105 (contextlib is one module more here)
                _signal.signal(sig, _signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    ancillary = _socket.CMSG_SPACE(MAX_FDS * 4)
    # One buffer for every request (recvmsg() would allocate and shrink 1 MiB each time:
    # mmap, mremap, munmap and page faults per spawn). An anonymous mapping, not a
    # bytearray: only the pages a request reaches are ever touched (a bytearray is zeroed,
    # 1 MiB more anonymous memory for every clone3 to copy the page tables of).
    buffer = mmap.mmap(-1, MAX_REQUEST)
    view = memoryview(buffer)
    while True:
        try:
            size, anc, flags, _addr = sock.recvmsg_into([buffer], ancillary)
        except InterruptedError:
            continue
        if not size and not anc:
            os._exit(0)
        got: list[int] = []
        for level, kind, data in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                got += struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4])
        pid = err = 0
        try:
            if flags & _socket.MSG_TRUNC:
                raise ValueError("request too large")
            old, plan, into_cgroup = marshal.loads(view[:size])
            mapping = dict(zip(old, got, strict=True))
            plan = remap(plan, mapping)
            prepared = spawnchild.prepare(plan)
            prepared.signals_set = True
            args.flags = CLONE_PARENT | (CLONE_INTO_CGROUP if into_cgroup else 0)
            args.cgroup = mapping[old[0]] if into_cgroup else 0
            err_w = mapping[old[1 if into_cgroup else 0]]
            # Step 1 of the child (linux.spawnchild) done here, inherited through clone3:
            # every disposition is SIG_DFL already, the mask is empty, and SIGPIPE is set
            # as the plan says (IgnoreSIGPIPE=). The helper itself never writes to a pipe
            # whose reader may be gone, only to the daemon's socket.
            _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN if plan[9] else _signal.SIG_DFL)
            # No PyOS_BeforeFork()/PyOS_AfterFork_*() around the clone: they exist for
            # other threads (the import lock, the GIL's and the runtime's locks, thread
            # states) and for os.register_at_fork() hooks. The helper has one thread and no
            # such hook, and the child never imports (spawnchild.prepare() loaded
            # everything): the hooks' only effect was ~40 more copy-on-write faults and
            # ~0.25 ms in every child (bench/spawn_exec.py). gc is off across the clone,
            # so that no collection can start in the child (it would touch, and copy,
            # every tracked object's page).
            gc.disable()
            try:
                pid = syscall(SYS_CLONE3, ctypes.byref(args), ctypes.sizeof(args))
                if pid == 0:
                    _take_name(child_name, libc, child_comm)
                    spawnchild.run(plan, err_w, prepared)  # execs or _exits
                err = ctypes.get_errno() if pid < 0 else 0
            finally:
                gc.enable()  # (in the parent: the child never returns from run())
            pid = max(pid, 0)
        except Exception:
            pid, err = 0, _EIO  # the daemon falls back to fork
        # Reply first: the daemon waits for it; the child has its own copy of the fds.
        sock.send(REPLY.pack(pid, err))
        for fd in got:
            try:  # noqa: SIM105 (contextlib is one module more here)
                os.close(fd)
            except OSError:
                pass
