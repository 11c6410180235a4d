"""Socket activation end to end on real fds: the pure socket machine driven by a tiny loop.

The loop plays the daemon's part: it carries out OpenListeners/WatchFds/AcceptConnection/
CloseListeners/CloseFd with linux/sockets.py and a selector, turns StartUnit into a real
child (fds from 3 with LISTEN_* for Accept=no, the connection on stdin/stdout for
Accept=yes with StandardInput=socket), and reports the child's life back as
TriggeredUnitChanged. A client connects *before* any service exists; its request must be
answered by the service the connection started.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from pidone.core import events as ev
from pidone.core.model import SocketSection
from pidone.core.socketseam import (
    AcceptConnection,
    CloseFd,
    CloseListeners,
    ConnectionAccepted,
    FdReadable,
    ListenersOpened,
    OpenListeners,
    WatchFds,
    build_socket_config,
)
from pidone.core.socketunit import SocketMachine, SocketState
from pidone.core.triggering import StartUnit, TriggeredUnitChanged
from pidone.linux.sockets import Listener, close_listeners, listen_fds_environment, open_listener
from tests.core.unitbuild import unit_from_bytes

# Accept=no service: serve one connection on whichever inherited fd has one, then exit.
SERVER = """
import os, selectors, socket
assert int(os.environ["LISTEN_PID"]) == os.getpid()
names = os.environ["LISTEN_FDNAMES"].split(":")
socks = [socket.socket(fileno=3 + i) for i in range(int(os.environ["LISTEN_FDS"]))]
sel = selectors.DefaultSelector()
for i, s in enumerate(socks):
    sel.register(s, selectors.EVENT_READ, i)
(key, _), = sel.select(timeout=30)[:1]
conn, _ = socks[key.data].accept()
request = conn.recv(100)
conn.sendall(b"%s answered by fd %d (%s)" % (request, 3 + key.data, names[key.data].encode()))
conn.close()
for s in socks:
    s.detach()
"""
# Accept=yes instance, inetd style: the connection is stdin and stdout.
INETD = """
import os, sys
request = os.read(0, 100)
os.write(1, b"instance " + os.environ["INSTANCE"].encode() + b" got " + request)
"""


@dataclass
class Driver:
    """The daemon's side of the seam, for one socket machine."""

    machine: SocketMachine
    section: SocketSection
    listeners: list[Listener] = field(default_factory=list)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    children: dict[int, tuple[subprocess.Popen[bytes], str]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def now(self) -> int:
        return time.monotonic_ns() // 1000

    def feed(self, event: object) -> None:
        answers: list[object] = []
        for a in self.machine.handle(event, self.now()):  # type: ignore[arg-type]
            match a:
                case OpenListeners():
                    self.listeners = [open_listener(spec, self.section) for spec in a.specs]
                    answers.append(ListenersOpened(a.unit, tuple(li.fd for li in self.listeners)))
                case WatchFds(on=True):
                    for fd in a.fds:
                        self.selector.register(fd, selectors.EVENT_READ)
                case WatchFds(on=False):
                    for fd in a.fds:
                        self.selector.unregister(fd)
                case AcceptConnection():
                    answers += self._accept(a)
                case StartUnit():
                    self._spawn(a)
                case CloseFd():
                    os.close(a.fd)
                case CloseListeners():
                    close_listeners(self.listeners, a.remove)
        for answer in answers:
            self.feed(answer)

    def _accept(self, a: AcceptConnection) -> list[object]:
        listener = socket.socket(fileno=os.dup(a.fd))
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return []  # spurious: someone else took it
        finally:
            listener.close()
        family = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}.get(conn.family, "unix")
        local, remote = conn.getsockname(), conn.getpeername()
        fd = conn.detach()
        if family == "unix":
            return [ConnectionAccepted(a.unit, a.fd, fd, family, peer=(os.getpid(), os.getuid()))]
        return [ConnectionAccepted(a.unit, a.fd, fd, family, local[:2], remote[:2])]

    def _spawn(self, a: StartUnit) -> None:
        self.started.append(a.target)
        if a.connection_fd >= 0:
            env = dict(os.environ, INSTANCE=a.target)
            proc = subprocess.Popen(
                [sys.executable, "-c", INETD],
                stdin=a.connection_fd,
                stdout=a.connection_fd,
                env=env,
            )
            os.close(a.connection_fd)  # the instance owns it now
        else:
            fds, names = a.fds, a.fd_names

            def preexec() -> None:  # what the spawner does: fds from 3, blocking, LISTEN_*
                lifted = [os.dup(fd) for fd in fds]
                for i, fd in enumerate(lifted):
                    os.dup2(fd, 3 + i)
                    os.set_blocking(3 + i, True)
                for key, value in listen_fds_environment(list(names), os.getpid()).items():
                    os.environ[key] = value

            proc = subprocess.Popen(
                [sys.executable, "-c", SERVER], preexec_fn=preexec, close_fds=False
            )
        self.children[proc.pid] = (proc, a.target)
        self.feed(TriggeredUnitChanged(self.machine.name, a.target, "active", "running"))

    def run_once(self, timeout: float = 0.05) -> None:
        for key, _ in self.selector.select(timeout):
            self.feed(FdReadable(self.machine.name, key.fd))
        for pid, (proc, target) in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[pid]
                self.feed(TriggeredUnitChanged(self.machine.name, target, "inactive", "dead"))

    def close(self) -> None:
        for proc, _ in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        close_listeners(self.listeners, remove=True)
        self.selector.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answer(driver: Driver, client: socket.socket) -> bytes:
    """Run the loop until the client's reply arrives (a hang fails after 30 s)."""
    client.setblocking(False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        driver.run_once()
        with contextlib.suppress(BlockingIOError):
            data = client.recv(200)
            if data:
                return data
    raise AssertionError("no answer")


def _driver(name: str, body: str) -> Driver:
    unit = unit_from_bytes(name, body.encode())
    config, warnings = build_socket_config(unit)
    assert warnings == []
    assert unit.socket is not None
    return Driver(SocketMachine(config), unit.socket)


def test_first_tcp_and_unix_connections_are_answered_by_the_activated_service(tmp_path):
    port = _free_port()
    path = str(tmp_path / "run" / "web.sock")
    body = f"[Socket]\nListenStream=127.0.0.1:{port}\nListenStream={path}\n"
    driver = _driver("web.socket", body)
    machine = driver.machine
    try:
        driver.feed(ev.StartRequested("web.socket"))
        assert machine.state == SocketState.LISTENING
        # The client connects and sends before any service process exists.
        tcp = socket.create_connection(("127.0.0.1", port))
        tcp.sendall(b"first")
        assert _answer(driver, tcp) == b"first answered by fd 3 (web.socket)"
        assert driver.started == ["web.service"]
        while driver.children:
            driver.run_once()
        assert machine.state == SocketState.LISTENING  # the service ended: listening again
        unix = socket.socket(socket.AF_UNIX)
        unix.connect(path)
        unix.sendall(b"second")
        assert _answer(driver, unix) == b"second answered by fd 4 (web.socket)"
        assert driver.started == ["web.service", "web.service"]
        tcp.close()
        unix.close()
        driver.feed(ev.StopRequested("web.socket"))
        assert machine.state == SocketState.DEAD
        assert os.path.exists(path)  # RemoveOnStop=no keeps the node
    finally:
        driver.close()


def test_accept_yes_runs_one_inetd_instance_per_connection(tmp_path):
    port = _free_port()
    driver = _driver("echo.socket", f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\n")
    machine = driver.machine
    try:
        driver.feed(ev.StartRequested("echo.socket"))
        a = socket.create_connection(("127.0.0.1", port))
        a.sendall(b"one")
        reply = _answer(driver, a)
        local = f"127.0.0.1:{port}"
        remote = f"127.0.0.1:{a.getsockname()[1]}"
        assert reply == f"instance echo@0-{local}-{remote}.service got one".encode()
        b = socket.create_connection(("127.0.0.1", port))
        b.sendall(b"two")
        assert _answer(driver, b).startswith(b"instance echo@1-")
        assert machine.state == SocketState.LISTENING
        while driver.children:
            driver.run_once()
        assert machine.n_connections == 0
        assert machine.n_accepted == 2
        a.close()
        b.close()
    finally:
        driver.close()
