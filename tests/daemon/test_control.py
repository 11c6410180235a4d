"""The control-socket server on a real loop and socket: hostile clients, limits, credentials."""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pidone.cli.client import Client, ClientError, RemoteError
from pidone.core.errors import PidoneError
from pidone.core.protocol import Response
from pidone.daemon.control import AlreadyRunning, Call, ControlServer, Limits, Verb
from pidone.daemon.loop import EventLoop

SETPRIV_NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
GUARD = 20.0  # socket timeout guarding against a hung test; never asserted


@dataclass
class Harness:
    """A server on its own loop thread; every server-side fact is read through a verb."""

    path: str
    loop: EventLoop
    server: ControlServer
    thread: threading.Thread
    waiting: list[Call] = field(default_factory=list)
    closed_calls: list[int] = field(default_factory=list)

    def client(self) -> Client:
        return Client(self.path, timeout=GUARD)

    def raw(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(GUARD)
        sock.connect(self.path)
        return sock

    def stats(self) -> dict[str, int]:
        with self.client() as c:
            result: dict[str, int] = c.call("stats")
            return result

    def wait_connections(self, count: int) -> None:
        """Poll (no deadline asserted) until the server holds `count` connections + ours."""
        for _ in range(2000):
            if self.stats()["connections"] == count + 1:
                return
            time.sleep(0.01)
        raise AssertionError(f"server still holds {self.stats()['connections'] - 1} connections")


def start_server(sock_dir: str, limits: Limits, owner_uid: int | None = None) -> Harness:
    loop = EventLoop()
    verbs: dict[str, Verb] = {}
    path = os.path.join(sock_dir, "control.sock")
    server = ControlServer(loop, path, verbs, limits=limits, owner_uid=owner_uid, software="t")
    harness = Harness(path, loop, server, threading.Thread(target=loop.run, daemon=True))

    def stats(call: Call) -> Response:
        return Response.success(
            call.request.id,
            {
                "connections": server.connections,
                "waiting": len(harness.waiting),
                "closed_calls": len(harness.closed_calls),
                "uid": call.peer.uid,
            },
        )

    def wait(call: Call) -> None:
        harness.waiting.append(call)
        call.on_close(lambda: harness.closed_calls.append(call.request.id))
        call.send_event({"queued": len(harness.waiting)})

    def release(call: Call) -> Response:
        calls, harness.waiting[:] = list(harness.waiting), []
        for waiter in calls:
            waiter.send_event({"released": True})
            waiter.ok("done")
        return Response.success(call.request.id, len(calls))

    def boom(call: Call) -> Response:
        raise RuntimeError("handler bug")

    verbs.update(
        stats=Verb(stats, mutating=False),
        echo=Verb(lambda c: Response.success(c.request.id, c.request.args), mutating=False),
        big=Verb(lambda c: Response.success(c.request.id, "x" * 200_000), mutating=False),
        wait=Verb(wait, mutating=False),
        release=Verb(release),
        start=Verb(lambda c: Response.success(c.request.id, "started")),
        boom=Verb(boom, mutating=False),
    )
    loop.on_error = lambda exc, where: None  # the handler bug is expected; keep stderr clean
    server.start()
    harness.thread.start()
    return harness


def stop_server(harness: Harness) -> None:
    done = threading.Event()

    def shutdown() -> None:
        harness.server.close()
        harness.loop.stop()
        done.set()

    harness.loop.call_soon_threadsafe(shutdown)
    harness.thread.join(GUARD)
    harness.loop.close()


@pytest.fixture
def sock_dir() -> Iterator[str]:
    # Not tmp_path: its 0700 parents would keep the unprivileged client out.
    path = tempfile.mkdtemp(prefix="pidone-ctl-")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def harness(sock_dir: str) -> Iterator[Harness]:
    h = start_server(sock_dir, Limits(idle_timeout=1.0, max_output=1 << 20, max_errors=8))
    try:
        yield h
    finally:
        stop_server(h)


def frame(obj: object) -> bytes:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


HELLO = frame({"type": "hello", "version": 1})


def read_frames(sock: socket.socket) -> list[dict[str, object]]:
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # closed with our bytes unread (man 7 unix): like EOF
            break
        if not chunk:
            break
        data += chunk
    out = []
    while len(data) >= 4:
        (n,) = struct.unpack(">I", data[:4])
        out.append(json.loads(data[4 : 4 + n]))
        data = data[4 + n :]
    return out


def test_query_and_mutation_as_root(harness: Harness) -> None:
    with harness.client() as c:
        assert c.call("echo", unit="a.service", n=[1, 2]) == {"unit": "a.service", "n": [1, 2]}
        assert c.call("start") == "started"
        assert c.server_version == 1
        assert c.server_software == "t"
    mode = os.stat(harness.path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o666


def test_remote_errors_keep_the_connection(harness: Harness) -> None:
    with harness.client() as c:
        with pytest.raises(RemoteError) as unknown:
            c.call("format-disk")
        assert unknown.value.code == "unknown-verb"
        with pytest.raises(RemoteError) as bug:
            c.call("boom")
        assert bug.value.code == "internal-error"
        assert c.call("echo", ok=True) == {"ok": True}


def test_unprivileged_client_may_query_but_not_mutate(harness: Harness) -> None:
    script = """
import json, sys
from pidone.cli.client import Client, RemoteError
c = Client(sys.argv[1], timeout=20)
out = {"stats_uid": c.call("stats")["uid"]}
try:
    c.call("start", unit="x.service")
except RemoteError as exc:
    out["start"] = [exc.code, exc.message]
print(json.dumps(out))
"""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    proc = subprocess.run(
        [*SETPRIV_NOBODY, sys.executable, "-c", script, harness.path],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out == {"stats_uid": 65534, "start": ["access-denied", "Access denied"]}


def test_daemon_owner_uid_may_mutate(sock_dir: str) -> None:
    h = start_server(sock_dir, Limits(), owner_uid=12345)
    try:
        with h.client() as c:  # we are root: root may always mutate
            assert c.call("start") == "started"
    finally:
        stop_server(h)


def test_garbage_flood_then_server_still_answers(harness: Harness) -> None:
    rng = random.Random(3)
    for _ in range(5):
        sock = harness.raw()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(rng.randbytes(256 << 10))  # the server may hang up mid-flood
        answers = read_frames(sock)  # an error, or nothing: then the server closed or timed out
        sock.close()
        assert all(a["ok"] is False for a in answers)
    harness.wait_connections(0)
    with harness.client() as c:
        assert c.call("echo") == {}


def test_well_framed_garbage_gets_errors_then_a_close(harness: Harness) -> None:
    sock = harness.raw()
    junk = [b"{", b"[]", b'{"type":"request","id":"x"}', b'{"type":"nope","id":3}', b"\xff"]
    sock.sendall(HELLO + b"".join(frame(j) for j in junk * 4))
    got = read_frames(sock)
    sock.close()
    assert got[0] == {"type": "hello", "version": 1, "software": "t"}
    codes = [m["error"]["code"] for m in got[1:]]  # type: ignore[index]
    assert codes[:5] == ["bad-json", "bad-message", "bad-message", "unknown-type", "bad-json"]
    assert len(codes) == 8  # max_errors, then the server closed


def test_oversized_frame_is_refused_and_closed(harness: Harness) -> None:
    sock = harness.raw()
    sock.sendall(HELLO + struct.pack(">I", (1 << 20) + 1) + b"{")
    got = read_frames(sock)
    sock.close()
    assert got[-1]["error"] == {  # type: ignore[comparison-overlap]
        "code": "frame-too-large",
        "message": f"frame of {(1 << 20) + 1} bytes exceeds the limit of {1 << 20}",
    }


def test_half_written_frame_then_disconnect(harness: Harness) -> None:
    for _ in range(10):
        sock = harness.raw()
        sock.sendall(HELLO + frame({"type": "request", "id": 1, "verb": "echo"})[:9])
        sock.close()
    harness.wait_connections(0)
    with harness.client() as c:
        assert c.call("echo", x=1) == {"x": 1}


def test_slow_client_is_dropped_by_the_idle_timeout(harness: Harness) -> None:
    sock = harness.raw()
    sock.sendall(HELLO + b"\x00\x00")  # a frame header begun, never finished
    assert read_frames(sock) == [{"type": "hello", "version": 1, "software": "t"}]
    sock.close()


def test_client_that_never_reads_is_dropped(harness: Harness) -> None:
    sock = harness.raw()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    requests = b"".join(frame({"type": "request", "id": i, "verb": "big"}) for i in range(1, 30))
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(HELLO + requests)
    harness.wait_connections(0)  # dropped while we still held its answers unread
    sock.close()
    # (a stats client's own EOF may still be queued when the next one's request, read as
    # soon as it is accepted, is answered: wait for the count rather than read it once)
    harness.wait_connections(0)


def test_two_hundred_concurrent_connections(harness: Harness) -> None:
    socks = [harness.raw() for _ in range(200)]
    try:
        for i, sock in enumerate(socks):
            sock.sendall(
                HELLO + frame({"type": "request", "id": 1, "verb": "echo", "args": {"i": i}})
            )
        for i, sock in enumerate(socks):
            sock.shutdown(socket.SHUT_WR)
            got = read_frames(sock)
            assert got[1] == {"type": "response", "id": 1, "ok": True, "result": {"i": i}}
    finally:
        for sock in socks:
            sock.close()
    harness.wait_connections(0)


def test_connection_limit(sock_dir: str) -> None:
    h = start_server(sock_dir, Limits(max_connections=3))
    socks = [h.raw() for _ in range(3)]
    try:
        for sock in socks:  # make sure the server has adopted all three
            sock.sendall(HELLO)
            assert sock.recv(4)
        extra = h.raw()
        assert read_frames(extra)[0]["error"]["code"] == "too-many-connections"  # type: ignore[index]
        extra.close()
        with pytest.raises(RemoteError, match="too many connections"):
            h.stats()
        socks.pop().close()
        for _ in range(2000):  # until the server has noticed the close
            try:
                assert h.stats()["connections"] == 3  # two raw sockets and the stats client
                break
            except RemoteError:
                time.sleep(0.01)
        else:
            raise AssertionError("a freed connection slot was never reused")
    finally:
        for sock in socks:
            sock.close()
        stop_server(h)


def test_hello_is_required_and_versions_are_checked(harness: Harness) -> None:
    sock = harness.raw()
    sock.sendall(frame({"type": "request", "id": 5, "verb": "echo"}))
    assert read_frames(sock)[0]["error"]["code"] == "hello-required"  # type: ignore[index]
    sock.close()
    sock = harness.raw()
    sock.sendall(frame({"type": "hello", "version": 0}))
    assert read_frames(sock)[0]["error"]["code"] == "version-mismatch"  # type: ignore[index]
    sock.close()
    sock = harness.raw()
    sock.sendall(
        frame({"type": "hello", "version": 99})
        + frame({"type": "request", "id": 1, "verb": "echo"})
    )
    sock.shutdown(socket.SHUT_WR)
    got = read_frames(sock)
    sock.close()
    assert got[0]["version"] == 1
    assert got[1]["ok"] is True


def test_hello_leaves_with_the_answer_of_a_pipelined_request(harness: Harness) -> None:
    """The frames one read produces go out in one send at its end: the Hello has not
    reached the client while its pipelined request is dispatched (a job request spawns
    its first command there), and the client still gets Hello, then the answer."""
    sock = harness.raw()
    seen: list[bool] = []

    def peek(call: Call) -> Response:
        readable, _, _ = select.select([sock], [], [], 0)
        seen.append(bool(readable))
        return Response.success(call.request.id, "peeked")

    harness.server.verbs["peek"] = Verb(peek, mutating=False)  # a live dict
    try:
        sock.sendall(HELLO + frame({"type": "request", "id": 1, "verb": "peek"}))
        sock.shutdown(socket.SHUT_WR)
        got = read_frames(sock)
    finally:
        sock.close()
    assert seen == [False]
    assert [f["type"] for f in got] == ["hello", "response"]
    assert got[1]["result"] == "peeked"


def test_answers_held_past_the_read_pause_still_let_reading_resume(sock_dir: str) -> None:
    """Answers one read produced go out together; if they passed the back-pressure mark
    (reading paused) and the kernel then took them all, reading must resume: nothing
    else would restart it."""
    h = start_server(sock_dir, Limits(max_output=64 << 10))
    h.server.verbs["mid"] = Verb(lambda c: Response.success(c.request.id, "x" * (40 << 10)))
    sock = h.raw()
    try:
        sock.sendall(
            HELLO
            + frame({"type": "request", "id": 1, "verb": "mid"})
            + frame({"type": "request", "id": 2, "verb": "mid"})
        )
        sock.shutdown(socket.SHUT_WR)
        got = read_frames(sock)
    finally:
        sock.close()
        stop_server(h)
    assert [f.get("id") for f in got if f["type"] == "response"] == [1, 2]


def test_a_lone_hello_is_answered_at_once(harness: Harness) -> None:
    sock = harness.raw()
    try:
        sock.sendall(HELLO)  # no EOF: the answer must not wait for more input
        header = sock.recv(4)
        (n,) = struct.unpack(">I", header)
        body = b""
        while len(body) < n:
            body += sock.recv(n - len(body))
    finally:
        sock.close()
    assert json.loads(body)["type"] == "hello"


def test_deferred_responses_and_events(harness: Harness) -> None:
    with harness.client() as waiter:
        events = waiter.stream("wait")
        assert next(events) == {"queued": 1}
        with harness.client() as other:
            assert other.call("release") == 1
        assert list(events) == [{"released": True}]
        assert waiter.call("echo", after=1) == {"after": 1}


def test_duplicate_and_excess_pending_requests(sock_dir: str) -> None:
    h = start_server(sock_dir, Limits(max_pending=2))
    try:
        sock = h.raw()
        wait = [frame({"type": "request", "id": i, "verb": "wait"}) for i in (1, 1, 2, 3)]
        sock.sendall(HELLO + b"".join(wait))
        with h.client() as c:
            for _ in range(2000):  # until the server has queued both waiters
                if c.call("stats")["waiting"] == 2:
                    break
                time.sleep(0.01)
            assert c.call("release") == 2
        sock.shutdown(socket.SHUT_WR)
        got = read_frames(sock)
        sock.close()
        finals = [(m["id"], m.get("error", {}).get("code")) for m in got if m["type"] == "response"]  # type: ignore[union-attr]
        assert sorted(finals, key=str) == sorted(
            [(1, "duplicate-id"), (3, "too-many-pending"), (1, None), (2, None)], key=str
        )
    finally:
        stop_server(h)


def test_client_going_away_runs_on_close(harness: Harness) -> None:
    waiter = harness.client()
    assert next(waiter.stream("wait")) == {"queued": 1}
    waiter.close()
    for _ in range(2000):
        if harness.stats()["closed_calls"] == 1:
            break
        time.sleep(0.01)
    assert harness.stats()["closed_calls"] == 1


def test_stale_socket_replaced_live_one_refused(harness: Harness, sock_dir: str) -> None:
    loop = EventLoop()
    try:
        with pytest.raises(AlreadyRunning):
            ControlServer(loop, harness.path, {}).start()
        stale = os.path.join(sock_dir, "stale.sock")
        dead = socket.socket(socket.AF_UNIX)
        dead.bind(stale)
        dead.close()  # a socket file nobody listens on, as after a crash
        server = ControlServer(loop, stale, {})
        server.start()
        server.close()
        assert not os.path.exists(stale)
        regular = os.path.join(sock_dir, "file")
        with open(regular, "w"):
            pass
        with pytest.raises(PidoneError, match="not a socket"):
            ControlServer(loop, regular, {}).start()
    finally:
        loop.close()


def test_no_daemon_message(sock_dir: str) -> None:
    from pidone.cli.client import NoDaemon, connect

    with pytest.raises(NoDaemon) as exc:
        connect(sock_dir)
    assert str(exc.value) == (
        f"Failed to connect to pidone at {sock_dir}/control.sock: No such file or directory"
    )
    assert exc.value.exit_code == 1
    assert isinstance(exc.value, ClientError)
