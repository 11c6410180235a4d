"""The CLI's control client: wire constants, codec, runtime-dir resolution, the real server,
errors without a daemon, and the imports it may not pay for."""

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

from pidone.cli import client
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


def test_wire_constants_agree_with_the_codec_and_the_daemon() -> None:
    assert client.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION
    assert client.MAX_FRAME == protocol.MAX_CLIENT_FRAME
    assert client.DEFAULT_RUNTIME_DIR == paths.DEFAULT_RUNTIME_DIR
    assert client.RUNTIME_DIR_ENV == paths.RUNTIME_DIR_ENV
    assert client.SOCKET_NAME == paths.CONTROL_SOCKET_NAME
    assert protocol.HEADER.size == client.HEADER_SIZE
    assert protocol.HEADER.format == ">I"


@given(json_values)
def test_dumps_is_json_dumps_and_loads_reads_it_back(value: object) -> None:
    text = client.dumps(value)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert client.loads(text) == json.loads(text)


def test_loads_accepts_what_json_loads_accepts_and_refuses_the_rest() -> None:
    assert math.isnan(client.loads("NaN"))
    assert client.loads("-Infinity") == -math.inf
    assert client.loads('{"a":[1,2.5e1,"\\u00e9"]}') == {"a": [1, 25.0, "é"]}
    for bad in ("", "{", '{"a":1} x', "[1,]", "'x'"):
        with pytest.raises(ValueError):
            client.loads(bad)


def test_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        client.dumps({"x": object()})


@pytest.mark.parametrize("module", ["pidone.cli.client", "pidone.cli.jobs", "pidone.cli.query"])
def test_imports_no_socket_json_or_typing(module: str) -> None:
    heavy = (
        "{'socket', 'json', 're', 'enum', 'typing', 'selectors', 'struct', 'dataclasses',"
        " 'inspect', 'pidone.core.protocol'}"
    )
    code = f"import sys, {module}; print(sorted(set(sys.modules) & {heavy}))"
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
    runtime = tempfile.mkdtemp(prefix="pidone-client-")
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


def test_results_events_and_the_servers_hello(server: str) -> None:
    args = {"units": ["nginx.service", "é.service"], "no_block": False, "mode": "replace"}
    with client.connect(server, timeout=GUARD) as c:
        assert c.call("echo", **args) == args
        assert (c.server_version, c.server_software) == (protocol.PROTOCOL_VERSION, "t")
        assert c.call("later", n=1) == {"done": {"n": 1}}  # its event is skipped
        assert list(c.stream("later", n=2)) == [{"queued": True}]
        assert c.call("echo", again=True) == {"again": True}  # one connection, many calls


def test_remote_errors_carry_the_daemons_code_and_words(server: str) -> None:
    c = client.connect(server, timeout=GUARD)
    with c, pytest.raises(client.RemoteError) as exc:
        c.call("fail")
    assert (exc.value.code, exc.value.message) == ("no-such-unit", "Unit x not found.")
    assert str(exc.value) == "Unit x not found."
    c = client.connect(server, timeout=GUARD)
    with c, pytest.raises(client.RemoteError) as exc:
        c.call("no-such-verb")
    assert exc.value.code
    assert "no-such-verb" in exc.value.message


def test_stale_socket_is_no_daemon(tmp_path: Path) -> None:
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(tmp_path / "control.sock"))
    dead.close()
    with pytest.raises(client.NoDaemon) as exc:
        client.call("status", runtime_dir=str(tmp_path))
    assert str(exc.value) == (
        f"Failed to connect to pidone at {tmp_path}/control.sock: Connection refused"
    )
    assert exc.value.exit_code == 1


def test_a_daemon_that_hangs_up_or_sends_garbage_is_a_client_error(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "control.sock"))
    listener.listen()
    try:
        with client.connect(str(tmp_path), timeout=GUARD) as c:
            conn, _ = listener.accept()
            conn.close()
            with pytest.raises(client.ClientError, match="before replying"):
                c.call("status")
        with client.connect(str(tmp_path), timeout=GUARD) as c:
            conn, _ = listener.accept()
            conn.sendall(b"\0\0\0\3{x}")
            with pytest.raises(client.ClientError, match="malformed JSON"):
                c.call("status")
            conn.close()
    finally:
        listener.close()


def test_an_argument_that_is_not_utf8_is_a_client_error(server: str) -> None:
    c = client.connect(server, timeout=GUARD)
    with c, pytest.raises(client.ClientError, match="not valid UTF-8"):
        c.call("echo", units=["\udcff.service"])


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        (None, {}, "/run/pidone"),
        (None, {"PIDONE_RUNTIME_DIR": "/tmp/x"}, "/tmp/x"),
        ("/opt/rt", {"PIDONE_RUNTIME_DIR": "/tmp/x"}, "/opt/rt"),
        ("", {"PIDONE_RUNTIME_DIR": ""}, "/run/pidone"),
    ],
)
def test_runtime_dir_resolution(option: str | None, env: dict[str, str], expected: str) -> None:
    assert client.resolve_runtime_dir(option, env) == expected
    assert paths.resolve_paths(option, None, env).runtime_dir == expected


def test_env_var_reaches_socket_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIDONE_RUNTIME_DIR", str(tmp_path))
    assert client.socket_path() == f"{tmp_path}/control.sock"
    assert client.resolve_runtime_dir(None) == str(tmp_path)


@pytest.mark.parametrize("text", ['{"a": "x', '{"a" 1}', '{"a":1,}', "[1,", "nul"])
def test_loads_refuses_malformed_json_in_an_interpreter_without_json(text: str) -> None:
    # The CLI never imports `json`; CPython 3.11's _json then cannot raise JSONDecodeError
    # and signals SystemError instead. This process has imported json, so ask a fresh one.
    probe = (
        "import sys; from pidone.cli import client\n"
        "assert 'json' not in sys.modules\n"
        "try:\n"
        "    client.loads(sys.argv[1])\n"
        "except ValueError as exc:\n"
        "    print('ValueError', exc)\n"
    )
    src = str(Path(client.__file__).parents[2])
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {src!r})\n" + probe,
         text],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ValueError ")
