"""The compiled `pidone` (csrc/pidone.c + csrc/pidone-job.c) against the sh launcher.

Every case runs the same command line twice, through the sh launcher (bin/pidone, installed
where no C compiler is found: every verb in Python) and through the compiled program, and
asserts identical stdout, stderr and exit status: against a real daemon (NamespaceDaemon),
with no daemon, as a user the daemon refuses, and against a scripted fake server sending
good and broken replies (where the two requests must also be byte-identical). The job verbs'
cases run the compiled program next to a stub pidone-py that prints DECLINED, so a case it
hands back to the Python path cannot pass unseen; the launcher's own cases (every other
verb, --version, -h, no arguments, the hand-backs) run it next to the real pidone-py.
`PIDONE_FAST_CFLAGS` adds compiler flags (`-fsanitize=address,undefined` in the sanitizer
run, with ASAN_OPTIONS=detect_leaks=0: the client exits without freeing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pidone
from pidone.testing.harness import NamespaceDaemon
from tests.cli.launchers import compile_pidone

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(pidone.__file__).resolve().parent
SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
GUARD = 60.0  # subprocess and socket timeouts against a hung test; never asserted

UNITS = {
    "ok.service": "[Service]\nExecStart=/bin/sleep 100000\nExecReload=/bin/true\n",
    "bad.service": "[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nType=oneshot\n"
    "ExecStart=/bin/false\n",
    "noreload.service": "[Service]\nExecStart=/bin/sleep 100000\n",
}

Result = tuple[str, str, int]


@pytest.fixture(scope="module")
def prefix() -> Iterator[Path]:
    """An install prefix reachable by nobody (under /tmp, mode 755) holding three bin
    directories: bin/ as setup.py installs it with a compiler (the compiled pidone and
    pidone-py), sh/ as without one (the bin/pidone script and pidone-py), stub/ the compiled
    pidone next to a pidone-py that prints DECLINED; and shim/, shim-sh/, shim-stub/ with
    a `systemctl` symlink to each (`pidone install-shims --symlink`)."""
    top = Path(tempfile.mkdtemp(prefix="pidone-fast-", dir="/tmp"))
    try:
        top.chmod(0o755)
        for name in ("bin", "sh", "stub"):
            (top / name).mkdir()
        compile_pidone(top / "bin" / "pidone")
        shutil.copy(top / "bin" / "pidone", top / "stub" / "pidone")
        shutil.copy(ROOT / "bin" / "pidone", top / "sh" / "pidone")
        text = (ROOT / "bin" / "pidone-py").read_text()
        for name in ("bin", "sh"):
            (top / name / "pidone-py").write_text(f"#!{sys.executable}\n" + text.partition("\n")[2])
        (top / "stub" / "pidone-py").write_text("#!/bin/sh\necho DECLINED\nexit 99\n")
        for name in ("bin", "sh", "stub"):
            (top / name / "pidone").chmod(0o755)
            (top / name / "pidone-py").chmod(0o755)
            shim = top / ("shim" if name == "bin" else f"shim-{name}")
            shim.mkdir()
            (shim / "systemctl").symlink_to(top / name / "pidone")
        (top / SITE).mkdir(parents=True)
        (top / SITE / "pidone").symlink_to(PACKAGE)
        for path in top.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespaceDaemon]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    work = tmp_path_factory.mktemp("fastd")
    with NamespaceDaemon(work, UNITS) as d:
        (d.unit_dir / "masked.service").symlink_to("/dev/null")
        try:
            yield d
        finally:
            d.stop()


def _env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith("PIDONE_")}
    if base is not None and "PIDONE_RUNTIME_DIR" in base:
        env["PIDONE_RUNTIME_DIR"] = base["PIDONE_RUNTIME_DIR"]
    env.update(extra)
    return env


def _run(argv: list[str], env: dict[str, str], user: bool = False) -> Result:
    if user:  # nobody, with the right to traverse /root (the venv's python lives there)
        argv = [
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *argv,
        ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=GUARD)
    return done.stdout, done.stderr, done.returncode


def python_path(prefix: Path, args: list[str], env: dict[str, str], **kw: bool) -> Result:
    """Through the sh launcher: the Python path for every verb."""
    face = prefix / ("shim-sh/systemctl" if kw.pop("systemctl", False) else "sh/pidone")
    return _run([str(face), *args], env, **kw)


def fast_path(prefix: Path, args: list[str], env: dict[str, str], **kw: bool) -> Result:
    """Through the compiled pidone next to the DECLINED stub."""
    face = prefix / ("shim-stub/systemctl" if kw.pop("systemctl", False) else "stub/pidone")
    return _run([str(face), *args], env, **kw)


def both(prefix: Path, args: list[str], env: dict[str, str], **kw: bool) -> Result:
    """The two paths' (stdout, stderr, status); asserts they agree and the client did it."""
    slow = python_path(prefix, args, env, **kw)
    fast = fast_path(prefix, args, env, **kw)
    assert fast[0] != "DECLINED\n", f"the compiled client handed {args} back"
    assert fast == slow
    return fast


# --- against a real daemon ----------------------------------------------------------------

CASES: list[tuple[str, list[str], int]] = [
    # (state of ok.service before each run, argv, expected exit status)
    ("stopped", ["start", "ok"], 0),
    ("any", ["start", "bad"], 1),
    ("any", ["start", "masked"], 1),
    ("any", ["start", "nope"], 5),
    ("stopped", ["start", "ok", "bad.service", "nope", "masked"], 1),
    ("stopped", ["start", "nope", "bad"], 5),
    ("stopped", ["start", "--no-block", "ok"], 0),
    ("stopped", ["--job-mode=fail", "start", "ok"], 0),
    ("stopped", ["start", "--job-mode", "bogus", "ok"], 1),
    ("stopped", ["--runtime-dir", "RUNTIME", "start", "-q", "--no-pager", "--", "ok"], 0),
    ("started", ["stop", "ok"], 0),
    ("started", ["restart", "ok.service"], 0),
    ("stopped", ["try-restart", "ok"], 0),
    ("started", ["reload", "ok"], 0),
    ("stopped", ["reload", "ok"], 1),
    ("any", ["reload", "noreload"], 3),
    ("stopped", ["reload-or-restart", "ok"], 0),
    ("any", ["start", "o*"], 0),
    ("any", ["stop", "ünïcode", 'qu"ote\\', "tab\tx", "-"], 1),
    ("any", ["stop", "@.service"], 1),
    ("started", ["is-active", "ok"], 0),
    ("stopped", ["is-active", "ok", "nope"], 3),
    ("started", ["is-active", "nope", "ok", "bad"], 0),
    ("started", ["is-active", "-q", "ok"], 0),
    ("any", ["is-failed", "bad"], 0),
    ("started", ["is-failed", "--quiet", "ok", "nope"], 1),
]


def _set_state(daemon: NamespaceDaemon, state: str) -> None:
    if state == "started":
        daemon.call("start", units=["ok.service"], no_block=False, mode="replace")
    elif state == "stopped":
        daemon.call("stop", units=["ok.service"], no_block=False, mode="replace")


@pytest.mark.parametrize(("state", "args", "status"), CASES, ids=[" ".join(c[1]) for c in CASES])
def test_same_as_python_against_a_daemon(
    prefix: Path, daemon: NamespaceDaemon, state: str, args: list[str], status: int
) -> None:
    args = [a.replace("RUNTIME", daemon.runtime_dir) for a in args]
    env = _env(daemon.env)
    _set_state(daemon, state)
    slow = python_path(prefix, args, env)
    after_slow = daemon.state("ok.service")
    _set_state(daemon, state)
    fast = fast_path(prefix, args, env)
    after_fast = daemon.state("ok.service")
    assert fast[0] != "DECLINED\n"
    assert fast == slow
    assert fast[2] == status, fast
    assert after_fast == after_slow  # the same request had the same effect
    if status and not args[0].startswith("is-"):
        assert fast[1]  # a failed job says why


def test_effects_of_start_and_stop(prefix: Path, daemon: NamespaceDaemon) -> None:
    env = _env(daemon.env)
    _set_state(daemon, "stopped")
    assert fast_path(prefix, ["start", "ok"], env) == ("", "", 0)
    assert daemon.state("ok.service") == "active/running"
    assert fast_path(prefix, ["stop", "ok.service"], env) == ("", "", 0)
    assert daemon.state("ok.service").startswith("inactive")


@pytest.mark.parametrize(
    "args",
    [["start", "ok"], ["condrestart", "ok"], ["--no-block", "stop", "ok"], ["is-active", "ok"]],
)
def test_systemctl_face(prefix: Path, daemon: NamespaceDaemon, args: list[str]) -> None:
    env = _env(daemon.env)
    _set_state(daemon, "started")
    assert both(prefix, args, env, systemctl=True)[2] == 0


def test_refused_user(prefix: Path, daemon: NamespaceDaemon) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv(1) is not installed")
    env = _env(daemon.env)
    out = both(prefix, ["start", "ok", "bad"], env, user=True)
    assert out == ("", "Failed to start ok.service: Access denied\n", 4)
    _set_state(daemon, "started")
    assert both(prefix, ["is-active", "ok"], env, user=True) == ("active\n", "", 0)


# --- no daemon ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "systemctl"),
    [
        (["start", "x"], False),
        (["restart", "--runtime-dir=/nonexistent/", "a", "b"], False),
        (["stop", "x"], True),
        (["--runtime-dir", "/nonexistent", "try-restart", "x"], True),
        (["is-active", "x"], False),
        (["is-failed", "x"], True),
    ],
)
def test_no_daemon(prefix: Path, tmp_path: Path, args: list[str], systemctl: bool) -> None:
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path / "none"))
    _stdout, stderr, status = both(prefix, args, env, systemctl=systemctl)
    assert status == 1
    assert ("Host is down" in stderr) if systemctl else stderr.startswith("Failed to connect")


def test_socket_that_refuses(prefix: Path, tmp_path: Path) -> None:
    """A socket file nobody listens on (a crashed daemon's): ECONNREFUSED's text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(tmp_path / "control.sock"))
    out = both(prefix, ["start", "x"], _env(PIDONE_RUNTIME_DIR=str(tmp_path)))
    assert out[1].endswith(": Connection refused\n")


# --- what the client hands back -----------------------------------------------------------

DECLINED = [
    ["start"],
    ["start", "--bogus", "x"],
    ["start", "-n", "5", "x"],
    ["start", "--signal=KILL", "x"],
    ["start", "x", "--job-mode"],
    ["--help"],
    ["--version"],
    ["-p", "x", "start", "y"],
    ["status", "x"],
    ["is-active"],
    ["is-failed", "-n", "1", "x"],
    ["kill", "x"],
    ["--", "start", "x"],
    ["start", "\udcff"],
]


def launched(prefix: Path, args: list[str], env: dict[str, str], systemctl: bool = False) -> Result:
    """Through the compiled pidone next to the real pidone-py; the prefix's bin/ directory
    in its output spelled as the sh launcher's (sh/), where $0 shows."""
    face = prefix / ("shim/systemctl" if systemctl else "bin/pidone")
    stdout, stderr, status = _run([str(face), *args], env)
    here, there = f"{prefix}/bin/", f"{prefix}/sh/"
    return stdout.replace(here, there), stderr.replace(here, there), status


@pytest.mark.parametrize("args", DECLINED, ids=[repr(a) for a in DECLINED])
def test_declined_before_connecting_and_same_through_the_launcher(
    prefix: Path, tmp_path: Path, args: list[str]
) -> None:
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path / "none"))
    assert fast_path(prefix, args, env) == ("DECLINED\n", "", 99)
    assert launched(prefix, args, env) == python_path(prefix, args, env)


@pytest.mark.parametrize(
    "args", [["start", "x", "--root", "/r"], ["--version", "start", "x"], ["list-units"]]
)
def test_systemctl_declines(prefix: Path, tmp_path: Path, args: list[str]) -> None:
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path / "none"))
    assert fast_path(prefix, args, env, systemctl=True) == ("DECLINED\n", "", 99)
    assert launched(prefix, args, env, True) == python_path(prefix, args, env, systemctl=True)


LAUNCHER_CASES = [
    [],
    ["--version"],
    ["-h"],
    ["--help"],
    ["help"],
    ["no-such-verb", "x"],
    ["status", "x"],
    ["list-units", "--no-pager"],
    ["cat", "x"],
    ["-"],
    ["--bogus"],
    ["--runtime-dir"],
    ["start", "--help"],
    ["is-active", "--version"],
    ["stop", "a", "--", "--b"],
]


@pytest.mark.parametrize("systemctl", [False, True], ids=["pidone", "systemctl"])
@pytest.mark.parametrize("args", LAUNCHER_CASES, ids=[repr(a) for a in LAUNCHER_CASES])
def test_every_verb_same_as_the_sh_launcher(
    prefix: Path, tmp_path: Path, args: list[str], systemctl: bool
) -> None:
    """What the compiled launcher does not answer itself, Python does as behind the script:
    the same output, exit status and name (`systemctl` through the shim's symlink)."""
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path / "none"))
    ours = launched(prefix, args, env, systemctl)
    assert ours == python_path(prefix, args, env, systemctl=systemctl)
    assert "Traceback" not in ours[1]


def test_version_names_the_face(prefix: Path) -> None:
    """--version (Python's, never the client's) tells the two faces apart: $0's name."""
    assert launched(prefix, ["--version"], _env()) == (f"pidone {pidone.__version__}\n", "", 0)
    stdout, _stderr, status = launched(prefix, ["--version"], _env(), systemctl=True)
    assert (status, stdout.splitlines()[0]) == (0, f"systemd 252 (pidone {pidone.__version__})")


# --- a scripted fake server ---------------------------------------------------------------


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


HELLO = frame(b'{"type":"hello","version":1,"software":"fake"}')


class FakeServer:
    """Serves each connection with `reply` (bytes sent after the request was read) and
    records what each peer sent and which program it was (/proc/PID/exe, SO_PEERCRED)."""

    def __init__(self, path: Path, reply: bytes) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.peers: list[str] = []
        self.environs: list[bytes] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.listener.settimeout(GUARD)

    def serve_one(self) -> threading.Thread:
        def serve() -> None:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(GUARD)
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                pid = struct.unpack("3i", creds)[0]
                with contextlib.suppress(OSError):
                    self.peers.append(os.readlink(f"/proc/{pid}/exe"))
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        self.environs.append(f.read())
                data = b""
                while True:  # two frames: hello and the request
                    frames, at = 0, 0
                    while at + 4 <= len(data):
                        at += 4 + struct.unpack(">I", data[at : at + 4])[0]
                        frames += at <= len(data)
                    if frames >= 2:
                        break
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                with contextlib.suppress(OSError):
                    conn.sendall(self.reply)

        thread = threading.Thread(target=serve)
        thread.start()
        return thread

    def pending(self) -> bool:
        self.listener.settimeout(0)
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self) -> None:
        self.listener.close()


def _against(tmp_path: Path, reply: bytes, run: Callable[[dict[str, str]], Result]) -> Result:
    server = FakeServer(tmp_path / "control.sock", reply)
    try:
        thread = server.serve_one()
        result = run(_env(PIDONE_RUNTIME_DIR=str(tmp_path)))
        thread.join(GUARD)
        return result
    finally:
        server.close()


def response(result: bytes) -> bytes:
    return frame(b'{"type":"response","id":1,"ok":true,"result":' + result + b"}")


REPLIES: dict[str, bytes] = {
    "lines and codes": HELLO
    + frame(b'{"type":"event","id":1,"data":{"x":[1,{"y":[]}]}}')
    + frame(b'{"type":"response","id":7,"ok":false,"error":{}}')
    + response(
        b'{"results":[{"unit":"a","lines":["one","t\\u00e9\\ud83d\\ude00 \\"q\\" \\/"],'
        b'"exit_code":0},{"lines":[],"exit_code":3},{"exit_code":5}],'
        b'"lines":["tail"],"exit_code":9}'
    ),
    "top-level exit code": HELLO + response(b'{"results":[],"exit_code":7}'),
    "exit code 256 and -1": HELLO + response(b'{"results":[{"exit_code":256},{"exit_code":-1}]}'),
    "negative code": HELLO + response(b'{"results":[{"exit_code":-1}]}'),
    "bool code": HELLO + response(b'{"results":[{"exit_code":true}]}'),
    "duplicate keys": HELLO + response(b'{"exit_code":1,"exit_code":0,"lines":["a"],"lines":[]}'),
    "lone surrogates": HELLO + response(b'{"lines":["\\ud800x","\\udc00","\\ud800\\u0041"]}'),
    "constants skipped": HELLO + response(b'{"x":[NaN,Infinity,-Infinity,1e5,-0.5E-3],"lines":[]}'),
    "result not an object": HELLO + response(b"[1,2]"),
    "no result": HELLO + frame(b'{"type":"response","id":1,"ok":true}'),
    "whitespace inside": HELLO
    + frame(b'{ "type" : "response" ,\n"id":1.0,"ok":true,"result":{"lines" :[ "w" ]} }'),
    "id true": HELLO + frame(b'{"type":"response","id":true,"ok":true,"result":{"lines":["t"]}}'),
    "remote error": HELLO
    + frame(b'{"type":"response","id":1,"ok":false,"error":{"code":"x","message":"boom \\u00e9"}}'),
    "remote error, no message": HELLO + frame(b'{"type":"response","id":1,"ok":false,"error":{}}'),
    "remote error, odd fields": HELLO
    + frame(b'{"type":"response","id":1,"ok":false,"error":{"code":3,"message":null}}'),
    "access denied": HELLO
    + frame(
        b'{"type":"response","id":1,"ok":false,'
        b'"error":{"code":"access-denied","message":"Access denied"}}'
    ),
    "connection-level error": frame(
        b'{"type":"response","id":0,"ok":false,'
        b'"error":{"code":"too-many-connections","message":"too many connections"}}'
    ),
    "connection-level success then answer": HELLO
    + frame(b'{"type":"response","id":0,"ok":true}')
    + response(b'{"lines":["after"]}'),
    "error not an object": HELLO + frame(b'{"type":"response","id":1,"ok":false,"error":"no"}'),
    "ok not true": HELLO + frame(b'{"type":"response","id":1,"ok":1,"result":{}}'),
    "hello version 2": frame(b'{"type":"hello","version":2}'),
    "hello without version": frame(b'{"type":"hello"}'),
    "hello version string": frame(b'{"type":"hello","version":"it\'s"}'),
    "hello version false": frame(b'{"type":"hello","version":false}'),
    "hello version 0": frame(b'{"type":"hello","version":-0}'),
    "malformed JSON": HELLO + frame(b"{nope"),
    "leading whitespace": HELLO + frame(b' {"type":"response"}'),
    "trailing data": HELLO + frame(b'{"type":"response"} '),
    "trailing comma": HELLO + frame(b'{"type":"response",}'),
    "raw control character": HELLO + frame(b'{"type":"resp\x01onse"}'),
    "bad escape": HELLO + frame(b'{"type":"\\x"}'),
    "short unicode escape": HELLO + frame(b'{"type":"\\u12"}'),
    "invalid UTF-8": HELLO + frame(b'{"type":"\xff"}'),
    "encoded surrogate": HELLO + frame(b'{"type":"\xed\xa0\x80"}'),
    "overlong UTF-8": HELLO + frame(b'{"type":"\xc0\xaf"}'),
    "leading zero": HELLO + frame(b'{"id":01}'),
    "bare minus": HELLO + frame(b'{"id":-}'),
    "huge integer": HELLO + frame(b'{"id":' + b"9" * 4301 + b"}"),
    "big but allowed integer": HELLO + frame(b'{"id":' + b"9" * 4300 + b',"type":"response"}'),
    "empty frame": HELLO + frame(b""),
    "not an object": HELLO + frame(b"[1,2,3]"),
    "string message": HELLO + frame(b'"response"'),
    "oversized frame": HELLO + struct.pack(">I", (64 << 20) + 1),
    "truncated frame": HELLO + struct.pack(">I", 100) + b'{"type":',
    "truncated header": HELLO + b"\0\0",
    "no reply": b"",
    "deep nesting": HELLO
    + frame(b'{"a":' + b"[" * 100 + b"]" * 100 + b',"type":"x"}')
    + response(b'{"lines":["deep"]}'),
}


# cli/client.py's loads() calls _json's scanner without `json.decoder` imported; CPython
# 3.11's scanner then reports a defect inside the text (not at its start) as SystemError
# ("returned NULL without setting an exception": its raise_errmsg() looks JSONDecodeError up
# in sys.modules only), a traceback instead of the "sent malformed JSON" that client.py's
# `except ValueError` means to print. The compiled client prints that message.
SCANNER_BUG = "SystemError: <_json.Scanner object"


def states(text: bytes) -> bytes:
    return HELLO + response(b'{"states":' + text + b"}")


QUERY_REPLIES: dict[str, bytes] = {
    "states": states(b'["inactive","active","x\\u00e9"]'),
    "reloading": states(b'["failed","reloading"]'),
    "none active": states(b'["inactive","failed"]'),
    "no states": HELLO + response(b"{}"),
    "empty": states(b"[]"),
    "scalars": states(b'[1,true,null,"active"]'),
    "remote error": REPLIES["remote error"],
    "access denied": REPLIES["access denied"],
    "malformed JSON": REPLIES["malformed JSON"],
    "no reply": b"",
}
CASES_FAKE = [(["restart", "a", "b.socket", "ünï"], name) for name in REPLIES] + [
    (args, name)
    for name in QUERY_REPLIES
    for args in (["is-active", "a", "b"], ["is-failed", "-q", "a"], ["is-failed", "a"])
]


@pytest.mark.parametrize(("args", "name"), CASES_FAKE, ids=[f"{a[0]} {n}" for a, n in CASES_FAKE])
def test_same_as_python_against_a_fake_server(
    prefix: Path, tmp_path: Path, args: list[str], name: str
) -> None:
    reply = REPLIES[name] if args[0] == "restart" else QUERY_REPLIES[name]
    requests: list[bytes] = []

    def with_server(run: Callable[[dict[str, str]], Result]) -> Result:
        server = FakeServer(tmp_path / "control.sock", reply)
        thread = server.serve_one()
        try:
            return run(_env(PIDONE_RUNTIME_DIR=str(tmp_path)))
        finally:
            thread.join(GUARD)
            server.close()
            (tmp_path / "control.sock").unlink()
            requests.extend(server.requests)

    slow = with_server(lambda env: python_path(prefix, args, env))
    fast = with_server(lambda env: fast_path(prefix, args, env))
    if SCANNER_BUG in slow[1]:
        slow = ("", f"pidone at {tmp_path}/control.sock sent malformed JSON\n", 1)
    assert fast == slow
    assert fast[0] != "DECLINED\n"
    assert requests[0] == requests[1]  # byte for byte
    assert len(requests[0]) > 90


def test_malformed_replies_give_one_line_and_status_1(prefix: Path, tmp_path: Path) -> None:
    """What the differential above cannot see: the texts themselves, and no crash."""
    path = tmp_path / "control.sock"
    for name, want in [
        ("malformed JSON", "sent malformed JSON"),
        ("oversized frame", f"sent an oversized frame ({(64 << 20) + 1} bytes)"),
        ("truncated frame", "closed the connection before replying"),
        ("not an object", "sent a malformed message"),
        ("hello version 2", "speaks protocol 2"),
    ]:
        stdout, stderr, status = _against(
            tmp_path, REPLIES[name], lambda env: fast_path(prefix, ["start", "x"], env)
        )
        assert (stdout, stderr, status) == ("", f"pidone at {path} {want}\n", 1), name
        path.unlink()


# --- the launcher ---------------------------------------------------------------------------


def test_launcher_runs_the_client_unless_told_not_to(prefix: Path, tmp_path: Path) -> None:
    """Which program talked to the socket: the compiled pidone itself; python with
    PIDONE_NO_FAST (set, even empty) or PIDONE_FAST_DECLINED (which the launcher removes
    from Python's environment); python for a command line the client hands back, which
    connects once."""
    reply = HELLO + response(b'{"lines":["done"],"exit_code":3}')
    launcher = str(prefix / "bin" / "pidone")
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path))
    server = FakeServer(tmp_path / "control.sock", reply)
    results = []
    try:
        for extra, args in [
            ({}, ["start", "x"]),
            ({"PIDONE_NO_FAST": ""}, ["start", "x"]),
            ({}, ["start", "-n", "5", "x"]),
            ({"PIDONE_FAST_DECLINED": "1"}, ["start", "x"]),
        ]:
            thread = server.serve_one()
            results.append(_run([launcher, *args], {**env, **extra}))
            thread.join(GUARD)
        pending = server.pending()
    finally:
        server.close()
    assert results == [("", "done\n", 3)] * 4
    assert server.peers[0] == launcher
    assert [Path(p).name.startswith("python") for p in server.peers[1:]] == [True] * 3
    assert b"PIDONE_NO_FAST=\0" in server.environs[1]
    assert b"PIDONE_FAST_DECLINED" not in server.environs[3]
    assert not pending
    assert len(server.requests) == 4


def test_source_checkout_uses_python(prefix: Path, tmp_path: Path) -> None:
    """bin/ of a checkout (pidone-py still says `#!python`), with the script or the
    compiled pidone: python3 from PATH with the checkout's src/."""
    tree = tmp_path / "checkout"
    (tree / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "bin" / "pidone-py", tree / "bin" / "pidone-py")
    (tree / "src").symlink_to(PACKAGE.parent)
    env = _env(PIDONE_RUNTIME_DIR=str(tmp_path / "none"), PATH=f"{Path(sys.executable).parent}:"
               + os.environ.get("PATH", ""))  # fmt: skip
    want = python_path(prefix, ["start", "-n", "1", "x"], env)
    assert want[1].startswith("Failed to connect to pidone at")
    for launcher in (ROOT / "bin" / "pidone", prefix / "bin" / "pidone"):
        shutil.copy(launcher, tree / "bin" / "pidone")
        assert _run([str(tree / "bin" / "pidone"), "start", "-n", "1", "x"], env) == want
