"""What the session-11 acceptance modules (test_debian_s11a.py .. s11f.py) share: the daemon
fixture, namespace-only mounts, the HTTP and TLS probes, and small host-side helpers."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.test_debian_system_services import Iso, iso

__all__ = ["iso", "owner"]  # the fixtures; a module that imports them gets them collected


@pytest.fixture
def owner(iso: Callable[..., Iso]) -> Callable[[], Iso]:
    """`owner()` starts an isolated daemon as the owner of its /run (after require())."""
    # network-online.target pulls NetworkManager-wait-online.service where network-manager
    # is installed, and that waits 60 s without udev (test_debian_h4).
    return functools.partial(
        iso, args=["--tmpfiles=yes"], masked=["NetworkManager-wait-online.service"]
    )


def bind_over(d: Iso, source: Path, target: str) -> None:
    """Mount `source` over `target` in the daemon's mount namespace only."""
    r = d.inside("mount", "--bind", str(source), target)
    assert r.returncode == 0, r.stderr


def tmpfs(d: Iso, path: str, owner: str = "root", mode: str = "0755") -> None:
    """An empty tmpfs over `path` (owned by `owner`), so the daemon leaves the host's alone."""
    r = d.inside("mount", "-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", path)
    assert r.returncode == 0, r.stderr
    assert d.inside("chown", f"{owner}:{owner}", path).returncode == 0


def main_pid(d: Iso, unit: str) -> int:
    return int(d.status(unit)["main_pid"])


def uid(user: str) -> int:
    return pwd.getpwnam(user).pw_uid


def owned_dir(path: Path, user: str, mode: int = 0o750) -> Path:
    """A directory for a namespace bind that the daemon's `user` owns."""
    path.mkdir(mode=mode, exist_ok=True)
    os.chmod(path.parent, 0o755)  # pytest's tmp_path is 0700: let the daemon's user through
    shutil.chown(path, user, user)
    return path


def self_signed(where: Path, cn: str) -> tuple[Path, Path]:
    """A self-signed RSA certificate for `cn` and its key in `where`."""
    cert, key = where / "cert.pem", where / "key.pem"
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return cert, key


# --- probes (run inside the namespace) -------------------------------------------------------

# `GET PATH` on 127.0.0.1:PORT (argv: PORT PATH): the status line and the Server: header.
HTTP = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    request = 'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' % sys.argv[2]\n"
    "    s.sendall(request.encode())\n"
    "    reply = s.makefile('rb').read().decode('latin-1')\n"
    "    head = reply.split('\\r\\n\\r\\n')[0].split('\\r\\n')\n"
    "    server = [h for h in head if h.lower().startswith('server:')]\n"
    "    print(head[0], *server)\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# A TLS handshake with 127.0.0.1:PORT (no verification; argv: PORT CN): the protocol
# version and the certificate's subject CN.
TLS = (
    "import socket, ssl, sys\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
    "ctx.check_hostname = False\n"
    "ctx.verify_mode = ssl.CERT_NONE\n"
    "try:\n"
    "    raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    s = ctx.wrap_socket(raw)\n"
    "    der = s.getpeercert(binary_form=True)\n"
    "    print(s.version(), 'CN=' + sys.argv[2] if sys.argv[2].encode() in der else der.hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# Send bytes (hex in argv[2]) to 127.0.0.1:PORT over TCP, print the first reply chunk (hex).
ASK = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    s.sendall(bytes.fromhex(sys.argv[2]))\n"
    "    print(s.recv(4096).hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def http(d: Iso, port: int, path: str = "/") -> str:
    """The status line (and Server: header) of `GET path` on 127.0.0.1:PORT."""
    return d.py(HTTP, str(port), path)


def ask(d: Iso, port: int, payload: bytes) -> bytes:
    """The first chunk a TCP server on 127.0.0.1:PORT answers to `payload` (b"" when
    nothing listens there)."""
    out = d.py(ASK, str(port), payload.hex())
    return b"" if out.startswith("error:") else bytes.fromhex(out)
