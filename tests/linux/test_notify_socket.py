"""linux.notify: real datagrams with kernel credentials, fd passing and size limits."""

from __future__ import annotations

import array
import os
import select
import shutil
import socket
import stat
import tempfile
import uuid

import pytest

from pidone.core.execline import ExecCommand
from pidone.core.model import ExecContext
from pidone.linux.notify import NotifySocket
from pidone.linux.spawn import SpawnRequest
from tests.linux.proc_helpers import env_for, started, wait_exit

SYSTEM_PY = "/usr/bin/python3"
SEND = (
    "import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM);"
    "s.sendto(b'READY=1\\nSTATUS=up as ' + str(os.getuid()).encode(), os.environ['NOTIFY_SOCKET'])"
)


@pytest.fixture
def notify_socket():
    directory = tempfile.mkdtemp(prefix="pidone-notify-")
    os.chmod(directory, 0o755)  # so that an unprivileged service can reach the socket
    sock = NotifySocket(os.path.join(directory, "notify"))
    try:
        yield sock
    finally:
        sock.close()
        shutil.rmtree(directory)


def _receive(sock: NotifySocket):
    assert select.select([sock.fileno()], [], [], 20)[0], "no datagram arrived"
    return sock.receive()


def _send(path: str, data: bytes, fds: list[int] | None = None) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        rights = array.array("i", fds or []).tobytes()
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)] if fds else []
        s.sendmsg([data], ancillary, 0, path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as nobody")
def test_datagram_from_a_service_running_as_nobody(notify_socket):
    assert stat.S_IMODE(os.stat(notify_socket.path).st_mode) == 0o666
    ctx = ExecContext(user="nobody", standard_output="null")
    cmd = ExecCommand(path=SYSTEM_PY, argv=(SYSTEM_PY, "-S", "-c", SEND), no_env_expand=True)
    env = env_for(ctx, notify_socket=notify_socket.path)
    with started(SpawnRequest(cmd, ctx, env)) as s:
        got = _receive(notify_socket)
        assert wait_exit(s.pid) == 0
    assert got is not None
    assert (got.pid, got.uid, got.gid) == (s.pid, 65534, 65534)
    assert got.message.ready
    assert got.message.status == "up as 65534"
    assert got.fds == ()


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_passed_fds_are_closed_unless_fdstore(notify_socket):
    r, w = os.pipe()
    try:
        before = _open_fds()
        _send(notify_socket.path, b"STATUS=x", [r, w])
        got = _receive(notify_socket)
        assert got is not None
        assert got.fds == ()
        assert _open_fds() == before
        assert (got.pid, got.uid) == (os.getpid(), os.getuid())
        _send(notify_socket.path, b"FDSTORE=1\nFDNAME=pipe", [r])
        kept = _receive(notify_socket)
        assert kept is not None
        assert len(kept.fds) == 1
        assert kept.message.fdname == "pipe"
        os.write(w, b"ping")
        assert os.read(kept.fds[0], 4) == b"ping"  # the very same pipe
        os.close(kept.fds[0])
    finally:
        os.close(r)
        os.close(w)


def test_oversized_and_nul_datagrams_are_dropped(notify_socket):
    _send(notify_socket.path, b"READY=1\n" + b"x" * 5000)
    _send(notify_socket.path, b"READY=1\0junk")
    _send(notify_socket.path, b"STOPPING=1")
    got = _receive(notify_socket)  # the oversized one was dropped in the kernel-cut state
    assert got is not None
    assert got.message.ignored  # embedded NUL: handed over only so the caller can log it
    assert got.message.warnings == ("Received notify message with embedded NUL bytes, ignoring.",)
    got = notify_socket.receive()
    assert got is not None
    assert got.message.stopping
    assert notify_socket.receive() is None


def test_abstract_socket_and_receive_all():
    name = f"@pidone-test-{uuid.uuid4().hex}"
    sock = NotifySocket(name)
    try:
        for i in range(3):
            _send("\0" + name[1:], f"STATUS={i}".encode())
        select.select([sock.fileno()], [], [], 20)
        got = sock.receive_all()
        assert [g.message.status for g in got] == ["0", "1", "2"]
    finally:
        sock.close()
