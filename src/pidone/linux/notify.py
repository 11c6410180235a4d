"""The NOTIFY_SOCKET receiver: AF_UNIX datagrams with sender credentials (spec 03 §8).

Kernel lore (unix(7), cmsg(3)):

* SO_PASSCRED on the receiving socket makes the kernel attach SCM_CREDENTIALS
  (pid, uid, gid) to every datagram, filled in by the kernel for senders that did not
  send their own; an unprivileged sender cannot lie about them. Only a privileged sender
  (CAP_SYS_ADMIN for the pid) may claim another PID: that is how `systemd-notify --pid=`
  reports for its parent.
* A datagram bigger than the buffer is cut and flagged MSG_TRUNC; fds that do not fit
  the control buffer are closed by the kernel and MSG_CTRUNC is set. Every fd that *did*
  arrive is ours and must be closed unless kept for the fd store, or the daemon leaks one
  fd per hostile datagram.
* The socket file needs mode 0666 so that a service running as an unprivileged User=
  can connect(2)/sendto(2) to it (write permission on the socket inode is what counts).
* A path starting with "@" names the Linux abstract namespace (no file, no permissions).
* The receive buffer is bounded: senders get EAGAIN/block when the daemon falls behind,
  so `receive_all` drains a bounded number of datagrams per wake-up.
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
import struct

from pidone.core.dataclass_lite import dataclass
from pidone.core.notify import NOTIFY_BUFFER_MAX, NotifyMessage, parse_notify_message

_UCRED = struct.Struct("iII")  # struct ucred: pid_t pid; uid_t uid; gid_t gid
_MAX_FDS = 253  # SCM_MAX_FD
_ANCILLARY = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(_MAX_FDS * 4)


@dataclass(frozen=True, slots=True)
class NotifyDatagram:
    """One received datagram: the sender's kernel-checked credentials and the message.

    `fds` holds received descriptors only when the message carried FDSTORE=1 (the caller
    then owns them); otherwise they were closed on receipt.
    """

    pid: int
    uid: int
    gid: int
    message: NotifyMessage
    fds: tuple[int, ...] = ()


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _datagram(
    data: bytes, ancdata: list[tuple[int, int, bytes]], flags: int
) -> NotifyDatagram | None:
    """Turn one recvmsg() result into a datagram, or None (and close its fds) to drop it."""
    fds: list[int] = []
    cred: tuple[int, int, int] | None = None
    for level, kind, payload in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_RIGHTS:
            arr = array.array("i")
            arr.frombytes(payload[: len(payload) - len(payload) % arr.itemsize])
            fds.extend(arr)
        elif kind == socket.SCM_CREDENTIALS and len(payload) >= _UCRED.size:
            cred = _UCRED.unpack(payload[: _UCRED.size])
    truncated = bool(flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC))
    if cred is None or cred[0] <= 0 or truncated or len(data) > NOTIFY_BUFFER_MAX:
        _close_all(fds)  # no credentials, or cut: systemd drops it
        return None
    message = parse_notify_message(data)
    if message.ignored or not (message.fdstore and fds):
        _close_all(fds)
        fds = []
    return NotifyDatagram(cred[0], cred[1], cred[2], message, tuple(fds))


class NotifySocket:
    """A bound, non-blocking SOCK_DGRAM socket with SO_PASSCRED; register `fileno()`."""

    def __init__(self, path: str, mode: int = 0o666) -> None:
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            if path.startswith("@"):
                sock.bind("\0" + path[1:])
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # a stale socket from an earlier run
                sock.bind(path)
                os.chmod(path, mode)
            # Room for many datagrams; the kernel doubles the value (socket(7)).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()
        if not self.path.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def receive(self, max_dropped: int = 64) -> NotifyDatagram | None:
        """One datagram, or None when none is waiting.

        Datagrams that must be dropped (no credentials, truncated) are skipped, at most
        `max_dropped` of them per call, so a flood of junk cannot pin the loop here.
        """
        for _ in range(max_dropped + 1):
            try:
                data, ancdata, flags, _addr = self._sock.recvmsg(
                    NOTIFY_BUFFER_MAX + 1, _ANCILLARY, socket.MSG_CMSG_CLOEXEC
                )
            except (BlockingIOError, InterruptedError):
                return None
            got = _datagram(data, ancdata, flags)
            if got is not None:
                return got
        return None

    def receive_all(self, limit: int = 256) -> list[NotifyDatagram]:
        """Drain up to `limit` datagrams (bounded so one busy sender cannot starve the loop)."""
        out: list[NotifyDatagram] = []
        for _ in range(limit):
            got = self.receive()
            if got is None:
                break
            out.append(got)
        return out
