"""Listen on /run/systemd/private and refuse every call there (core/dbuspeer.py says why).

Only a PID 1 that owns /run does this (daemon/boot.py: the same rule as the
/run/systemd/system marker): elsewhere the socket belongs to the host's systemd, or to
nobody, and a foreign systemctl that finds no socket falls back to the system bus.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import uuid

from pidone.core.dbuspeer import PeerServer
from pidone.core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from pidone.daemon.loop import EventLoop

PRIVATE_SOCKET = "/run/systemd/private"
MAX_CONNECTIONS = 64  # each lives for one systemctl call


class PrivateBus:
    """The listening socket and its connections on the daemon's loop."""

    def __init__(self, loop: EventLoop, path: str = PRIVATE_SOCKET) -> None:
        self.loop = loop
        self.path = path
        self.guid = uuid.uuid4().hex  # the server's GUID, sent in the OK line
        self._listener: socket.socket | None = None
        self._peers: dict[int, tuple[socket.socket, PeerServer]] = {}

    def listen(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o077)  # srw------- root: systemd's private socket is root's only
        try:
            sock.bind(self.path)
        finally:
            os.umask(old)
        sock.listen(16)
        sock.setblocking(False)
        self._listener = sock
        self.loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        assert self._listener is not None
        for _ in range(16):
            try:
                conn, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # EMFILE and the like: the peer sees a reset, the daemon goes on
            if len(self._peers) >= MAX_CONNECTIONS:
                conn.close()
                continue
            conn.setblocking(False)
            fd = conn.fileno()
            self._peers[fd] = (conn, PeerServer(self.guid))
            self.loop.add_reader(fd, functools.partial(self._readable, fd))

    def _readable(self, fd: int) -> None:
        conn, peer = self._peers[fd]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            peer.receive_data(data)
            if peer.outgoing:
                try:
                    sent = conn.send(peer.outgoing)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    peer.closed = True
                    sent = 0
                del peer.outgoing[:sent]
                # A caller that does not read its answers (they are short) is dropped
                # rather than buffered for: nothing here waits for it.
                if peer.outgoing:
                    peer.closed = True
        if not data or peer.closed:
            self.loop.remove_reader(fd)
            del self._peers[fd]
            conn.close()

    def close(self) -> None:
        for fd, (conn, _peer) in list(self._peers.items()):
            self.loop.remove_reader(fd)
            conn.close()
        self._peers.clear()
        if self._listener is not None:
            self.loop.remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)
