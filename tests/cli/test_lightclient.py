"""The job verbs' light control client: same wire, same results and errors as cli.client."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pidone.cli import client, lightclient
from pidone.core import protocol
from pidone.core.protocol import Response
from pidone.daemon import paths
from pidone.daemon.control import Call, ControlServer, Verb
from pidone.daemon.loop import EventLoop

GUARD = 20.0  # socket timeout guarding against a hung test; never asserted

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_wire_constants_agree_with_the_codec_the_daemon_and_cli_client() -> None:
    assert lightclient.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION == client.PROTOCOL_VERSION
    assert lightclient.MAX_FRAME == protocol.MAX_CLIENT_FRAME
    assert lightclient.DEFAULT_RUNTIME_DIR == paths.DEFAULT_RUNTIME_DIR
    assert lightclient.RUNTIME_DIR_ENV == paths.RUNTIME_DIR_ENV
    assert lightclient.SOCKET_NAME == paths.CONTROL_SOCKET_NAME
    assert protocol.HEADER.size == lightclient.HEADER_SIZE
    assert protocol.HEADER.format == ">I"


@given(json_values)
def test_dumps_is_json_dumps_and_loads_reads_it_back(value: object) -> None:
    text = lightclient.dumps(value)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert lightclient.loads(text) == json.loads(text)


def test_loads_accepts_what_json_loads_accepts_and_refuses_the_rest() -> None:
    assert math.isnan(lightclient.loads("NaN"))
    assert lightclient.loads("-Infinity") == -math.inf
    assert lightclient.loads('{"a":[1,2.5e1,"\\u00e9"]}') == {"a": [1, 25.0, "é"]}
    for bad in ("", "{", '{"a":1} x', "[1,]", "'x'"):
        with pytest.raises(ValueError):
            lightclient.loads(bad)


def test_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        lightclient.dumps({"x": object()})


def test_imports_no_socket_json_or_typing() -> None:
    heavy = "{'socket', 'json', 're', 'enum', 'typing', 'selectors', 'struct'}"
    code = f"import sys, pidone.cli.jobs; print(sorted(set(sys.modules) & {heavy}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture
def server() -> Iterator[str]:
    """A real ControlServer on its own loop thread; yields its runtime dir."""
    runtime = tempfile.mkdtemp(prefix="pidone-lc-")
    loop = EventLoop()
    waiting: list[Call] = []

    def later(call: Call) -> None:
        waiting.append(call)
        call.send_event({"queued": True})  # events before the response are skipped
        loop.call_soon(lambda: call.ok({"done": call.args}))

    verbs = {
        "echo": Verb(lambda c: Response.success(c.request.id, c.request.args), mutating=False),
        "fail": Verb(lambda c: Response.failure(c.request.id, "no-such-unit", "Unit x not found.")),
        "later": Verb(later, mutating=False),
    }
    path = os.path.join(runtime, "control.sock")
    srv = ControlServer(loop, path, verbs, software="t")
    thread = threading.Thread(target=loop.run, daemon=True)
    srv.start()
    thread.start()
    try:
        yield runtime
    finally:

        def shutdown() -> None:
            srv.close()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        thread.join(GUARD)
        loop.close()
        shutil.rmtree(runtime, ignore_errors=True)


def test_results_match_the_full_client(server: str) -> None:
    args = {"units": ["nginx.service", "é.service"], "no_block": False, "mode": "replace"}
    with lightclient.connect(server, timeout=GUARD) as light, client.connect(server, GUARD) as full:
        assert light.call("echo", **args) == full.call("echo", **args) == args
        assert light.call("later", n=1) == full.call("later", n=1) == {"done": {"n": 1}}


def test_remote_errors_match_the_full_client(server: str) -> None:
    light = lightclient.connect(server, timeout=GUARD)
    with light, pytest.raises(lightclient.RemoteError) as exc:
        light.call("fail")
    assert (exc.value.code, exc.value.message) == ("no-such-unit", "Unit x not found.")
    light = lightclient.connect(server, timeout=GUARD)
    with light, pytest.raises(lightclient.RemoteError) as exc:
        light.call("no-such-verb")
    full = client.connect(server, GUARD)
    with full, pytest.raises(client.RemoteError) as expected:
        full.call("no-such-verb")
    assert (exc.value.code, exc.value.message) == (expected.value.code, expected.value.message)


def test_no_daemon_message_matches_the_full_client(tmp_path: Path) -> None:
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(tmp_path / "control.sock"))
    dead.close()
    with pytest.raises(lightclient.NoDaemon) as exc:
        lightclient.connect(str(tmp_path))
    with pytest.raises(client.NoDaemon) as expected:
        client.connect(str(tmp_path))
    assert str(exc.value) == str(expected.value)
    assert exc.value.exit_code == 1


def test_a_daemon_that_hangs_up_or_sends_garbage_is_a_client_error(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "control.sock"))
    listener.listen()
    try:
        with lightclient.connect(str(tmp_path), timeout=GUARD) as c:
            conn, _ = listener.accept()
            conn.close()
            with pytest.raises(lightclient.ClientError, match="before replying"):
                c.call("status")
        with lightclient.connect(str(tmp_path), timeout=GUARD) as c:
            conn, _ = listener.accept()
            conn.sendall(b"\0\0\0\3{x}")
            with pytest.raises(lightclient.ClientError, match="malformed JSON"):
                c.call("status")
            conn.close()
    finally:
        listener.close()


def test_an_argument_that_is_not_utf8_is_a_client_error(server: str) -> None:
    c = lightclient.connect(server, timeout=GUARD)
    with c, pytest.raises(lightclient.ClientError, match="not valid UTF-8"):
        c.call("echo", units=["\udcff.service"])


def test_runtime_dir_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIDONE_RUNTIME_DIR", "/tmp/x")
    assert lightclient.resolve_runtime_dir(None) == "/tmp/x"
    assert lightclient.resolve_runtime_dir("/opt/rt") == "/opt/rt"
    monkeypatch.setenv("PIDONE_RUNTIME_DIR", "")
    assert lightclient.resolve_runtime_dir("") == "/run/pidone"
