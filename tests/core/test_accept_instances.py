"""An Accept=yes connection's instance as systemd 252 names it: "Description (PEER)" in its
job messages and status (service_set_socket_fd(), getpeername_pretty()); oracle:
tests/data/oracle/capture-accept-sockets-252.md (tinysshd.socket)."""

from __future__ import annotations

import pytest

from pidone.core.socketseam import ConnectionAccepted, ListenersOpened, format_peer
from tests.core.test_triggerwiring import setup, start


@pytest.mark.parametrize(
    ("family", "remote", "peer", "pretty"),
    [
        ("inet", ("127.0.0.1", 58918), None, "127.0.0.1:58918"),
        ("inet6", ("::ffff:127.0.0.1", 56604), None, "127.0.0.1:56604"),  # mapped: as IPv4
        ("inet6", ("::1", 40000), None, "[::1]:40000"),
        ("unix", ("", 0), (4242, 0), "PID 4242/UID 0"),
        ("unix", ("", 0), None, ""),
        ("vsock", ("3", 1024), None, "vsock:3:1024"),
    ],
)
def test_format_peer(
    family: str, remote: tuple[str, int], peer: tuple[int, int] | None, pretty: str
) -> None:
    assert format_peer(family, remote, peer) == pretty


def test_the_instance_is_described_with_its_peer() -> None:
    mgr, fx = setup(
        {"t.socket": b"[Socket]\nListenStream=22\nAccept=yes\n"},
        {"t@.service": b"[Unit]\nDescription=Tiny SSH server\n[Service]\nExecStart=/bin/cat\n"},
    )
    start(fx, "t.socket")
    fx.feed(ListenersOpened("t.socket", (4,)))
    local, remote = ("::ffff:127.0.0.1", 22), ("::ffff:127.0.0.1", 56604)
    fx.feed(ConnectionAccepted("t.socket", 4, 9, "inet6", local, remote))
    instance = "t@0-127.0.0.1:22-127.0.0.1:56604.service"
    assert mgr.description(instance, "") == "Tiny SSH server (127.0.0.1:56604)"
    assert mgr.snapshot(instance).description == "Tiny SSH server (127.0.0.1:56604)"
    assert f"Started {instance} - Tiny SSH server (127.0.0.1:56604)." in fx.logs()
    assert mgr.description("t.socket", "x") == ""  # the socket's own: none in its file


def test_an_instance_without_description_is_named_by_its_peer() -> None:
    mgr, fx = setup(
        {"u.socket": b"[Socket]\nListenStream=/run/u.sock\nAccept=yes\n"},
        {"u@.service": b"[Service]\nExecStart=/bin/cat\n"},
    )
    start(fx, "u.socket")
    fx.feed(ListenersOpened("u.socket", (4,)))
    fx.feed(ConnectionAccepted("u.socket", 4, 9, "unix", peer=(4242, 0)))
    assert mgr.description("u@0-4242-0.service", "") == "PID 4242/UID 0"
