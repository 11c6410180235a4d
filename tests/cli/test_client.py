"""The CLI's control client: runtime-dir resolution, wire constants, errors without a daemon."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pidone.cli import client
from pidone.core import protocol
from pidone.daemon import paths


def test_wire_constants_agree_with_the_codec_and_the_daemon() -> None:
    assert client.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION
    assert client.MAX_FRAME == protocol.MAX_CLIENT_FRAME
    assert client.DEFAULT_RUNTIME_DIR == paths.DEFAULT_RUNTIME_DIR
    assert client.RUNTIME_DIR_ENV == paths.RUNTIME_DIR_ENV
    assert client.SOCKET_NAME == paths.CONTROL_SOCKET_NAME
    assert client._HEADER.format == protocol.HEADER.format


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


def test_daemon_that_hangs_up_is_a_client_error(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "control.sock"))
    listener.listen()
    try:
        with client.connect(str(tmp_path), timeout=20) as c:
            conn, _ = listener.accept()
            conn.close()
            with pytest.raises(client.ClientError, match="before replying"):
                c.call("status")
    finally:
        listener.close()


def test_client_imports_stay_light() -> None:
    heavy = "{'dataclasses', 'typing', 'inspect', 'pidone.core.protocol'}"
    code = f"import sys, pidone.cli.client; print(sorted(set(sys.modules) & {heavy}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert out.stdout.strip() == "[]"
