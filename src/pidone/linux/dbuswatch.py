"""The system bus connection that watches BusName= of Type=dbus services (core/dbuswire).

One non-blocking AF_UNIX connection to the system bus socket, made the first time a
Type=dbus service starts, driven by the daemon's event loop. Every answer about a name is
reported through `report(unit, name, owner, bus_available)` for each unit watching it.

When no bus can be reached (no socket, nobody listening, the bus refused us, or the
connection broke before a name's owner was known) every waiting unit is told that there
is no bus, and core/service.py runs it as Type=simple with a warning (spec 02 §1: "if a
system bus is reachable, poll for the name owner; otherwise treat as simple"). systemd
itself would wait for a bus until TimeoutStartSec= instead.

The connection may be made while the bus socket is one of our own listening sockets
(dbus.socket) and dbus-daemon has not started yet: connect() then succeeds on the
backlog, the socket unit sees the connection and starts dbus.service, and the SASL
answer arrives once dbus-daemon runs. Nothing here blocks the loop meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Callable

from pidone.core.dbuswire import BusClient, BusProtocolError
from pidone.core.hints import Protocol

SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket"  # DBUS_SYSTEM_BUS_DEFAULT_ADDRESS

Report = Callable[[str, str, str, bool], None]


class EventLoop(Protocol):
    """The part of daemon.loop.EventLoop used here."""

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None: ...
    def remove_reader(self, fd: int) -> None: ...
    def add_writer(self, fd: int, callback: Callable[[], None]) -> None: ...
    def remove_writer(self, fd: int) -> None: ...


def system_bus_path(environ: dict[str, str] | None = None) -> str:
    """The system bus socket: $DBUS_SYSTEM_BUS_ADDRESS if it is `unix:path=...`."""
    env = os.environ if environ is None else environ
    for part in env.get("DBUS_SYSTEM_BUS_ADDRESS", "").split(";"):
        if part.startswith("unix:"):
            for kv in part[5:].split(","):
                if kv.startswith("path="):
                    return kv[5:]
    return SYSTEM_BUS_SOCKET


class BusWatch:
    """Name owners from the system bus for the units that asked (see the module docstring)."""

    def __init__(
        self,
        loop: EventLoop,
        report: Report,
        path: str | None = None,
        activate: Callable[[str], None] | None = None,
    ) -> None:
        self.loop = loop
        self.report = report
        self.activate = activate  # D-Bus activation requests (serve_activation())
        self.path = path or system_bus_path()
        self._sock: socket.socket | None = None
        self._client: BusClient | None = None
        self._units: dict[str, set[str]] = {}  # name -> units watching it
        self._unanswered: set[str] = set()  # names asked for and not answered yet
        self._writing = False

    def watch(self, unit: str, name: str) -> None:
        """Report `name`'s owner to `unit` now (a fresh GetNameOwner) and on every change."""
        self._units.setdefault(name, set()).add(unit)
        if self._client is None and not self._connect():
            self.report(unit, name, "", False)
            return
        assert self._client is not None
        self._unanswered.add(name)
        self._client.watch(name)
        self._flush()

    def serve_activation(self) -> bool:
        """Connect (if needed) and take the bus's activation requests for `activate`; False
        when no bus can be reached. Called each time dbus.service becomes active."""
        if self._client is None and not self._connect():
            return False
        assert self._client is not None
        self._client.serve_activation()
        self._flush()
        return True

    def activation_failure(self, unit: str, error: str, message: str) -> None:
        if self._client is not None:
            self._client.activation_failure(unit, error, message)
            self._flush()

    def _connect(self) -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        try:
            sock.connect(self.path)
        except BlockingIOError:
            pass  # EAGAIN on a full backlog: writable once accepted
        except OSError:
            sock.close()
            return False
        self._sock, self._client = sock, BusClient(os.getuid())
        self.loop.add_reader(sock.fileno(), self._on_readable)
        return True

    def _flush(self) -> None:
        if self._sock is None or self._client is None:
            return  # closed meanwhile
        out = self._client.outgoing
        try:
            while out:
                sent = self._sock.send(out)
                del out[:sent]
        except BlockingIOError:
            pass
        except OSError:
            self._broken()
            return
        want = bool(out)
        if want != self._writing:
            self._writing = want
            if want:
                self.loop.add_writer(self._sock.fileno(), self._flush)
            else:
                self.loop.remove_writer(self._sock.fileno())

    def _on_readable(self) -> None:
        if self._sock is None or self._client is None:
            return
        try:
            data = self._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.ECONNRESET:
                raise
            data = b""
        if not data:
            self._broken()
            return
        try:
            news = self._client.receive_data(data)
        except BusProtocolError:
            self._broken()
            return
        for kind, name, owner in news:
            if kind == "activate":
                if self.activate is not None:
                    self.activate(name)
                continue
            self._unanswered.discard(name)
            for unit in sorted(self._units.get(name, ())):
                self.report(unit, name, owner, True)
        if self._client.outgoing:
            self._flush()

    def _broken(self) -> None:
        """The connection is gone: units still waiting for an answer hear there is no bus;
        the next watch() connects again."""
        self.close()
        waiting, self._unanswered = self._unanswered, set()
        for name in sorted(waiting):
            for unit in sorted(self._units.get(name, ())):
                self.report(unit, name, "", False)

    def close(self) -> None:
        if self._sock is not None:
            fd = self._sock.fileno()
            with contextlib.suppress(KeyError, ValueError):
                self.loop.remove_reader(fd)
            if self._writing:
                with contextlib.suppress(KeyError, ValueError):
                    self.loop.remove_writer(fd)
            self._sock.close()
        self._sock, self._client, self._writing = None, None, False
