"""BusName= watching against a real dbus-daemon (a private bus on a socket in tmp_path)."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pidone.core.dbuswire import ERROR, BusClient, Message, encode_method_call, split_messages
from pidone.linux.dbuswatch import BusWatch, system_bus_path

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={path}</listen>
  <servicedir>{services}</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Loop:
    """The four EventLoop methods BusWatch uses, run by select() until a condition holds."""

    def __init__(self) -> None:
        self.readers: dict[int, Callable[[], None]] = {}
        self.writers: dict[int, Callable[[], None]] = {}

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        self.readers[fd] = callback

    def remove_reader(self, fd: int) -> None:
        self.readers.pop(fd, None)

    def add_writer(self, fd: int, callback: Callable[[], None]) -> None:
        self.writers[fd] = callback

    def remove_writer(self, fd: int) -> None:
        self.writers.pop(fd, None)

    def run_until(self, done: Callable[[], bool], turns: int = 200) -> None:
        for _ in range(turns):
            if done():
                return
            r, w, _ = select.select(list(self.readers), list(self.writers), [], 0.1)
            for fd in r:
                if fd in self.readers:
                    self.readers[fd]()
            for fd in w:
                if fd in self.writers:
                    self.writers[fd]()
        raise AssertionError("the bus did not answer")


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed")
    path = str(tmp_path / "bus")
    conf = tmp_path / "bus.conf"
    services = tmp_path / "services"
    services.mkdir()
    # a bus-activatable name whose provider is a systemd unit (dbus-daemon(1))
    (services / "org.example.Act.service").write_text(
        "[D-BUS Service]\nName=org.example.Act\nExec=/bin/false\nSystemdService=act.service\n"
    )
    conf.write_text(CONFIG.format(path=path, services=services))
    proc = subprocess.Popen(
        [
            "dbus-daemon",
            f"--config-file={conf}",
            "--nofork",
            "--print-address",
            "--systemd-activation",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("unix:")  # listening
        yield path
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def client(path: str) -> tuple[socket.socket, BusClient]:
    """A blocking connection that has said Hello."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    c = BusClient(os.getuid())
    s.sendall(c.outgoing)
    c.outgoing.clear()
    c.receive_data(s.recv(4096))
    s.sendall(c.outgoing)
    c.outgoing.clear()
    return s, c


def replies(s: socket.socket, serial: int) -> Message:
    """The reply (return or error) to our call `serial`."""
    buf = bytearray()
    while True:
        for raw in split_messages(buf):
            msg = Message(raw)
            if msg.reply_serial == serial:
                return msg
        data = s.recv(65536)
        assert data, "the bus hung up"
        buf += data


def own_name(path: str, name: str) -> socket.socket:
    """A blocking client that owns `name` (RequestName, DBUS_NAME_FLAG_DO_NOT_QUEUE)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    c = BusClient(os.getuid())
    s.sendall(c.outgoing)
    c.outgoing.clear()
    c.receive_data(s.recv(4096))  # OK <guid>: BEGIN and Hello are queued
    s.sendall(bytes(c.outgoing) + encode_method_call(100, "RequestName", (name, 4)))
    replies = bytearray()
    while replies.count(b"RequestName") == 0 and len(replies) < 4096:
        replies += s.recv(4096)  # the NameAcquired signal names the member
        if b"NameAcquired" in replies:
            break
    return s


def test_name_appears_and_disappears(bus: str) -> None:
    loop = Loop()
    seen: list[tuple[str, str, str, bool]] = []
    w = BusWatch(loop, lambda *news: seen.append(news), path=bus)
    try:
        watch_and_own(loop, w, seen, bus)
    finally:
        w.close()
    assert not loop.readers


def watch_and_own(
    loop: Loop, w: BusWatch, seen: list[tuple[str, str, str, bool]], bus: str
) -> None:
    w.watch("avahi.service", "org.example.H5")
    loop.run_until(lambda: len(seen) == 1)
    assert seen == [("avahi.service", "org.example.H5", "", True)]  # nobody owns it yet
    owner = own_name(bus, "org.example.H5")
    try:
        loop.run_until(lambda: len(seen) == 2)
        unit, name, new_owner, available = seen[1]
        assert (unit, name, available) == ("avahi.service", "org.example.H5", True)
        assert new_owner.startswith(":1.")
        # a second watch of the same name asks the bus again and gets the same owner
        w.watch("other.service", "org.example.H5")
        loop.run_until(lambda: len(seen) == 4)
        assert {s[0] for s in seen[2:]} == {"avahi.service", "other.service"}
        assert {s[2] for s in seen[2:]} == {new_owner}
    finally:
        owner.close()
    loop.run_until(lambda: len(seen) == 6)
    assert {(s[0], s[2]) for s in seen[4:]} == {("avahi.service", ""), ("other.service", "")}


def test_no_bus_is_reported_at_once(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str, bool]] = []
    w = BusWatch(Loop(), lambda *news: seen.append(news), path=str(tmp_path / "none"))
    w.watch("avahi.service", "org.example.H5")
    assert seen == [("avahi.service", "org.example.H5", "", False)]


def test_a_bus_that_goes_away_before_answering_means_no_bus(tmp_path: Path) -> None:
    path = str(tmp_path / "mute")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    loop = Loop()
    seen: list[tuple[str, str, str, bool]] = []
    w = BusWatch(loop, lambda *news: seen.append(news), path=path)
    w.watch("avahi.service", "org.example.H5")
    conn, _ = listener.accept()
    conn.close()  # hung up without a word
    loop.run_until(lambda: bool(seen))
    assert seen == [("avahi.service", "org.example.H5", "", False)]
    listener.close()


def test_system_bus_path_from_the_environment() -> None:
    assert system_bus_path({}) == "/run/dbus/system_bus_socket"
    env = {"DBUS_SYSTEM_BUS_ADDRESS": "tcp:host=x;unix:path=/tmp/b,guid=1"}
    assert system_bus_path(env) == "/tmp/b"


def test_activation_requests_reach_the_manager_and_failures_go_back(bus: str) -> None:
    loop = Loop()
    asked: list[str] = []
    w = BusWatch(loop, lambda *news: None, path=bus, activate=asked.append)
    caller, _ = client(bus)
    try:
        assert w.serve_activation()
        # a call to the activatable name: dbus-daemon asks org.freedesktop.systemd1
        caller.sendall(encode_method_call(50, "StartServiceByName", ("org.example.Act", 0)))
        loop.run_until(lambda: bool(asked))
        assert asked == ["act.service"]
        w.activation_failure("act.service", "org.freedesktop.systemd1.NoSuchUnit", "no unit")
        answer = replies(caller, 50)
        assert answer.type == ERROR
        assert answer.error == "org.freedesktop.systemd1.NoSuchUnit"
        # a method call to the manager's name is refused at once, not left to time out
        call = encode_method_call(
            51, "GetUnit", ("x.service",), destination="org.freedesktop.systemd1"
        )
        caller.sendall(call)
        loop.run_until(lambda: bool(select.select([caller], [], [], 0)[0]))
        refused = replies(caller, 51)
        assert refused.type == ERROR
        assert refused.error == "org.freedesktop.DBus.Error.UnknownMethod"
    finally:
        caller.close()
        w.close()
