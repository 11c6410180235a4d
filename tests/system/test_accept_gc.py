"""Accept=yes through a real daemon (PID 1 of a PID namespace): two hundred connections,
each answered by its own instance, and the instances are garbage-collected once they end
(systemd 252 unit_may_gc()): `list-units --all` does not grow with connections."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

CONNECTIONS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ask(port: int, line: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(line)
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        return data


def test_instances_of_two_hundred_connections_are_collected(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    port = _free_port()
    d = pidone_ns(
        {
            # TriggerLimitBurst=200 per 2 s is Accept=yes's default: not the point here
            "echo.socket": f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\n"
            "TriggerLimitBurst=100000\n",
            "echo@.service": "[Service]\nStandardInput=socket\n"
            "ExecStart=/bin/sh -c 'read l; echo got $l'\n",
            # a failing instance is kept until reset-failed (CollectMode=inactive)
            "bad.socket": f"[Socket]\nListenStream=127.0.0.1:{port + 1}\nAccept=yes\n",
            "bad@.service": "[Service]\nStandardInput=socket\n"
            "ExecStart=/bin/sh -c 'read l; exit 1'\n",
        }
    )
    assert d.cli("start", "echo.socket").returncode == 0

    def instances(prefix: str = "echo@") -> list[list[str]]:
        rows: list[list[str]] = d.call("list-units", all=True)["units"]
        return [row for row in rows if row[0].startswith(prefix)]

    answers = [_ask(port, f"{n}\n".encode()) for n in range(CONNECTIONS)]
    assert answers == [f"got {n}\n".encode() for n in range(CONNECTIONS)]
    # The last instances may still be reaped after their answer went out.
    d.wait_for(lambda: len(instances()) == 0, what="every echo@ instance to be collected")
    assert d.state("echo.socket") == "active/listening"

    # A failed instance stays (list-units shows it) until reset-failed.
    assert d.cli("start", "bad.socket").returncode == 0
    assert _ask(port + 1, b"x\n") == b""
    d.wait_for(lambda: [r[2] for r in instances("bad@")] == ["failed"], what="a failed bad@")
    (row,) = instances("bad@")
    assert d.cli("reset-failed", row[0]).returncode == 0
    d.wait_for(lambda: instances("bad@") == [], what="bad@ collected after reset-failed")
