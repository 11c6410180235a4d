"""AF_UNIX datagram sockets that know their sender: SO_PASSCRED + SCM_CREDENTIALS (unix(7)).

Used by the log sockets (/dev/log, the native journal socket). The kernel fills in
SCM_CREDENTIALS for every datagram once SO_PASSCRED is set, so a sender cannot lie about
its pid/uid/gid unless it is privileged (CAP_SYS_ADMIN/CAP_SETUID/CAP_SETGID).
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
import struct

from pidone.core.dataclass_lite import dataclass

_UCRED = struct.Struct("iII")  # struct ucred: pid_t pid; uid_t uid; gid_t gid
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
MAX_FDS = 16


@dataclass(frozen=True, slots=True)
class Datagram:
    data: bytes
    pid: int  # 0 when the kernel sent no credentials
    uid: int
    gid: int


def bind_dgram(path: str, mode: int = 0o666, rcvbuf: int = 8 * 1024 * 1024) -> socket.socket:
    """A non-blocking datagram socket at `path` (a stale socket file is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(path)
        os.chmod(path, mode)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def recv_dgram(sock: socket.socket, maxsize: int = 2 * 1024 * 1024) -> Datagram | None:
    """One datagram with its sender, or None when nothing is queued.

    File descriptors passed along (SCM_RIGHTS) are closed: nothing here keeps them.
    """
    try:
        data, ancdata, _flags, _addr = sock.recvmsg(
            maxsize, socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(MAX_FDS * 4)
        )
    except (BlockingIOError, InterruptedError):
        return None
    pid = uid = gid = 0
    for level, kind, payload in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind == SCM_CREDENTIALS and len(payload) >= _UCRED.size:
            pid, uid, gid = _UCRED.unpack_from(payload)
        elif kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
    return Datagram(data, pid, uid, gid)
