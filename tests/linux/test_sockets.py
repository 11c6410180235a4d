"""Socket-unit listeners: address parsing, real binds, and the sd_listen_fds hand-over."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest

from pidone.core.errors import ValueParseError
from pidone.core.listen import format_listen, parse_listen
from pidone.core.model import SocketSection
from pidone.linux.sockets import close_listeners, listen_fds_environment, open_listener


@pytest.mark.parametrize(
    ("directive", "value", "family", "shown"),
    [
        ("ListenStream", "80", "inet6", "[::]:80"),
        ("ListenStream", "127.0.0.1:8080", "inet", "127.0.0.1:8080"),
        ("ListenStream", "[::1]:53", "inet6", "[::1]:53"),
        ("ListenStream", "/run/foo.sock", "unix", "/run/foo.sock"),
        ("ListenStream", "@abstract", "unix", "@abstract"),
        ("ListenDatagram", "0.0.0.0:111", "inet", "0.0.0.0:111"),
        ("ListenFIFO", "/run/x.fifo", "fifo", "/run/x.fifo"),
        ("ListenStream", "vsock:2:1234", "vsock", "vsock:2:1234"),
    ],
)
def test_address_forms(directive, value, family, shown):
    spec = parse_listen(directive, value)
    assert spec.family == family
    assert format_listen(spec) == shown


@pytest.mark.parametrize("value", ["", "99999", "host:80", "[::1]80", "1.2.3:4", "0"])
def test_bad_addresses_are_refused(value):
    with pytest.raises(ValueParseError):
        parse_listen("ListenStream", value)


CHILD = """
import os, socket
assert int(os.environ["LISTEN_PID"]) == os.getpid()
n = int(os.environ["LISTEN_FDS"])
names = os.environ["LISTEN_FDNAMES"].split(":")
for i in range(n):
    s = socket.socket(fileno=3 + i)
    if s.type == socket.SOCK_STREAM:
        conn, _ = s.accept()
        conn.sendall(("hello from fd %d %s" % (3 + i, names[i])).encode())
        conn.close()
    s.detach()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bound_socket_reaches_a_child_as_fd_3(tmp_path):
    section = SocketSection()
    tcp = open_listener(parse_listen("ListenStream", f"127.0.0.1:{_free_port()}"), section)
    unix = open_listener(parse_listen("ListenStream", str(tmp_path / "d/s.sock")), section)
    try:
        port = tcp.spec.port
        assert stat.S_IMODE(os.stat(tmp_path / "d/s.sock").st_mode) == 0o666
        # A client connects before the service exists: the connection must not be lost.
        client = socket.create_connection(("127.0.0.1", port))

        def preexec():
            # What the spawner does in the child: fds from 3, blocking, and LISTEN_*.
            os.dup2(tcp.fd, 3)
            os.dup2(unix.fd, 4)
            os.set_blocking(3, True)
            os.set_blocking(4, True)
            env = listen_fds_environment(["web.socket", "web.socket"], os.getpid())
            for key, value in env.items():
                os.environ[key] = value

        proc = subprocess.Popen([sys.executable, "-c", CHILD], preexec_fn=preexec, close_fds=False)
        unix_client = socket.socket(socket.AF_UNIX)
        unix_client.connect(str(tmp_path / "d/s.sock"))
        assert client.recv(100) == b"hello from fd 3 web.socket"
        assert unix_client.recv(100) == b"hello from fd 4 web.socket"
        assert proc.wait(30) == 0
        client.close()
        unix_client.close()
    finally:
        close_listeners([tcp, unix], remove=True)
    assert not os.path.exists(tmp_path / "d/s.sock")


def test_a_stale_unix_node_is_replaced_and_fifo_created(tmp_path):
    path = str(tmp_path / "stale.sock")
    old = socket.socket(socket.AF_UNIX)
    old.bind(path)
    old.close()
    listener = open_listener(parse_listen("ListenStream", path), SocketSection())
    fifo = open_listener(parse_listen("ListenFIFO", str(tmp_path / "f")), SocketSection())
    try:
        assert stat.S_ISFIFO(os.stat(tmp_path / "f").st_mode)
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(path)
    finally:
        close_listeners([listener, fifo], remove=False)
    assert os.path.exists(path)


def test_a_refused_socket_option_is_a_warning_and_the_socket_listens(tmp_path):
    """PassCredentials=yes on a TCP listener (mpd.socket: ListenStream=6600 beside its Unix
    socket): Linux 6.16+ refuses SO_PASSCRED outside AF_UNIX/netlink with EOPNOTSUPP;
    systemd 252 logs "SO_PASSCRED failed: Operation not supported" and listens anyway."""
    section = SocketSection(pass_credentials=True, keep_alive=True)
    with socket.socket() as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, 16, 1)  # SO_PASSCRED, as the kernel takes it
            expected: list[str] = []
        except OSError as exc:
            expected = [f"SO_PASSCRED failed: {exc.strerror}"]
    warnings: list[str] = []
    tcp = open_listener(
        parse_listen("ListenStream", f"127.0.0.1:{_free_port()}"), section, warnings.append
    )
    unix = open_listener(parse_listen("ListenStream", str(tmp_path / "s.sock")), section)
    try:
        assert warnings == expected
        with socket.create_connection(("127.0.0.1", tcp.spec.port), timeout=5):
            pass  # it listens
        listening = socket.socket(fileno=unix.fd)
        try:  # the Unix socket does pass credentials
            assert listening.getsockopt(socket.SOL_SOCKET, 16) == 1
        finally:
            listening.detach()
    finally:
        close_listeners([tcp, unix], remove=True)
