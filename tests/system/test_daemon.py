"""The daemon as a whole: notify as nobody, MAINPID=, orphans, hostile clients, peers, journal."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.scripts import NOTIFY, PY, write

pytestmark = pytest.mark.system

NOBODY_NOTIFY = (
    "[Service]\nType=notify\nUser=nobody\n"
    "ExecStart=/usr/bin/python3 -c 'import os, socket, time; "
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
    's.connect(os.environ["NOTIFY_SOCKET"]); '
    's.send(b"READY=1\\\\nSTATUS=as nobody"); time.sleep(1000)\'\n'
)


def test_notify_from_a_service_running_as_nobody(pidone_ns: Factory) -> None:
    d = pidone_ns({"n.service": NOBODY_NOTIFY})
    r = d.cli("start", "n")
    assert (r.returncode, r.stderr) == (0, "")
    info = d.status("n.service")
    assert (info["active"], info["sub"], info["status_text"]) == ("active", "running", "as nobody")
    assert d.uid_of(info["main_pid"]) == 65534


def test_mainpid_handover(pidone_ns: Factory, tmp_path: Path) -> None:
    out = tmp_path / "child"
    script = write(
        tmp_path,
        "handover.py",
        NOTIFY
        + "pid = os.fork()\n"
        + "if pid == 0:\n    os.execv('/bin/sleep', ['sleep', '1000'])\n"
        + f"open('{out}', 'w').write(str(pid))\n"
        + "notify(f'MAINPID={pid}\\nREADY=1')\n",
    )
    d = pidone_ns({"h.service": f"[Service]\nType=notify\nExecStart={PY} {script}\n"})
    assert d.cli("start", "h").returncode == 0
    child = int(out.read_text())
    d.wait_for(
        lambda: [pid for pid, _c in d.status("h.service")["processes"]] == [child],
        what="the old main process to exit",
    )
    info = d.status("h.service")
    assert (info["active"], info["sub"], info["main_pid"]) == ("active", "running", child)
    # The adopted process is the daemon's child now: its real exit status is seen.
    os.kill(d.host_pid(child), signal.SIGKILL)
    assert d.wait_state("h.service", "failed/failed")["result"] == "signal"


def test_orphans_are_adopted_and_reaped(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "o.service": "[Service]\nExecStart=/bin/sh -c "
            "'for i in 1 2 3 4 5; do (sleep 0.2 &); done; exec sleep 1000'\n"
        }
    )
    assert d.cli("start", "o").returncode == 0
    info = d.wait_state("o.service", "active/running")

    def only_main_left() -> bool:
        procs = d.namespace_processes()
        return [(pid, state) for pid, state, _c in procs] == [(info["main_pid"], "S")]

    d.wait_for(only_main_left, what="the orphaned sleeps to be reaped (no zombies)")
    assert d.state("o.service") == "active/running"


def test_a_flood_of_garbage_on_the_control_socket(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {"s.service": "[Service]\nExecStart=/bin/sleep 1000\nRestart=always\nRestartSec=100ms\n"}
    )
    assert d.cli("start", "s").returncode == 0
    first = d.wait_state("s.service", "active/running")["main_pid"]
    path = os.path.join(d.runtime_dir, "control.sock")
    garbage = [
        b"\xff" * 4096,  # a length prefix far over the limit
        struct.pack(">I", 10) + b"not json!!",
        struct.pack(">I", 2) + b"[]",
        struct.pack(">I", 100) + b"{",  # truncated frame, then silence
        os.urandom(8192),
        struct.pack(">I", 30) + b'{"type":"request","id":1}xxxx',
    ]
    socks = []
    try:
        for i in range(120):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.setblocking(False)
            with contextlib.suppress(OSError):  # the daemon may have hung up already: fine
                s.send(garbage[i % len(garbage)])
            socks.append(s)
        os.kill(d.host_pid(first), signal.SIGKILL)  # supervision goes on meanwhile
        d.wait_for(
            lambda: (
                d.status("s.service")["n_restarts"] == 1
                and d.state("s.service") == "active/running"
            ),
            what="the service to be restarted while clients misbehave",
        )
        r = d.cli("is-active", "s")
        assert (r.returncode, r.stdout) == (0, "active\n")
    finally:
        for s in socks:
            s.close()
    assert d.status("s.service")["main_pid"] != first


def test_a_non_root_client_may_query_but_not_start(pidone_ns: Factory) -> None:
    d = pidone_ns({"q.service": "[Service]\nExecStart=/bin/sleep 1000\n"})
    r = d.cli("start", "q", user="nobody")
    assert r.returncode == 4
    assert r.stderr == "Failed to start q.service: Access denied\n"
    assert d.state("q.service") == "inactive/dead"
    r = d.cli("is-active", "q", user="nobody")
    assert (r.returncode, r.stdout) == (3, "inactive\n")
    assert d.cli("start", "q").returncode == 0
    r = d.cli("is-active", "q", user="nobody")
    assert (r.returncode, r.stdout) == (0, "active\n")


def test_service_output_is_in_the_journal(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            "j.service": "[Unit]\nDescription=Journal test\n[Service]\nType=oneshot\n"
            "ExecStart=/bin/sh -c 'echo out-line; echo err-line >&2; printf \"<3>urgent\\\\n\"'\n"
        }
    )
    assert d.cli("start", "j").returncode == 0

    def logged() -> bool:
        return "Finished j.service - Journal test." in d.journal("-u", "j")

    d.wait_for(logged, what="the job's messages in the journal")
    lines = [line.split(": ", 1)[1] for line in d.journal("-u", "j").splitlines()]
    assert lines == [
        "Starting j.service - Journal test...",
        "out-line",
        "err-line",
        "urgent",
        "j.service: Deactivated successfully.",
        "Finished j.service - Journal test.",
    ]
    assert d.journal("-u", "j", "-p", "3", "-o", "cat") == "urgent\n"


def test_sigterm_stops_every_unit_and_exits_zero(pidone_ns: Factory) -> None:
    d = pidone_ns(
        {
            f"u{i}.service": "[Service]\nExecStart=/bin/sh -c 'sleep 1000 & exec sleep 1000'\n"
            for i in range(5)
        }
    )
    assert d.cli("start", *[f"u{i}" for i in range(5)]).returncode == 0
    # Type=simple: the start job ends at fork, before each shell has forked its `sleep`.
    d.wait_for(lambda: len(d.namespace_pids()) == 10, what="5 shells and their 5 sleeps")
    assert d.stop() == 0
    log = d.log_path.read_text()
    assert log == ""  # nothing on the daemon's own stdout/stderr without --log-to-stdout


@pytest.mark.parametrize(("access", "ok"), [("main", False), ("all", True)])
def test_notify_access_is_enforced_with_the_senders_credentials(
    pidone_ns: Factory, tmp_path: Path, access: str, ok: bool
) -> None:
    script = write(
        tmp_path,
        "child_notify.py",
        NOTIFY + "if os.fork() == 0:\n    notify('READY=1')\n    os._exit(0)\ntime.sleep(1000)\n",
    )
    d = pidone_ns(
        {
            "na.service": f"[Service]\nType=notify\nNotifyAccess={access}\nTimeoutStartSec=2\n"
            f"TimeoutStopSec=1\nExecStart={PY} {script}\n"
        }
    )
    r = d.cli("start", "na")
    if ok:
        assert (r.returncode, d.state("na.service")) == (0, "active/running")
    else:
        assert r.returncode == 1
        assert "a timeout was exceeded" in r.stderr
        log = d.journal("-u", "na", "-o", "cat")
        assert "but reception only permitted for main PID" in log
