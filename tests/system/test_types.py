"""Every Type= through the real CLI, with the daemon as PID 1 of a PID namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.scripts import NOTIFY, PY, write

pytestmark = pytest.mark.system


def unit(service: str, description: str = "") -> str:
    head = f"[Unit]\nDescription={description}\n" if description else ""
    return f"{head}[Service]\n{service}\n"


def wait_main_comm(d, unit_name: str, comm: str) -> dict:
    """Status once the main process runs `comm`: a Type=simple unit is active at fork, and a
    forking daemon's child may still be exec'ing, so the comm can lag the state."""
    d.wait_state(unit_name, "active/running")
    d.wait_for(lambda: d.status(unit_name).get("main_comm") == comm, what=f"main comm {comm}")
    return d.status(unit_name)


@pytest.mark.parametrize("kind", ["simple", "idle", "dbus", "exec"])
def test_simple_like_types_run_their_command(pidone_ns: Factory, kind: str, tmp_path: Path) -> None:
    bus = "BusName=org.example.T\n" if kind == "dbus" else ""  # dbus without it: bad-setting
    units = {"t.service": unit(f"Type={kind}\n{bus}ExecStart=/bin/sleep 1000")}
    if kind == "dbus":  # Type=dbus implies Requires=/After=dbus.socket (service_add_extras())
        units["dbus.socket"] = f"[Socket]\nListenStream={tmp_path}/dbus.sock\n"
        # socket_start() refuses a socket whose service is not loaded (never started here)
        units["dbus.service"] = unit("ExecStart=/bin/sleep 1000")
    d = pidone_ns(units)
    r = d.cli("start", "t")
    assert (r.returncode, r.stderr) == (0, "")
    info = wait_main_comm(d, "t.service", "sleep")
    assert [cmd for _pid, cmd in info["processes"]] == ["/bin/sleep 1000"]
    assert d.cli("stop", "t").returncode == 0
    assert d.state("t.service") == "inactive/dead"
    assert d.namespace_pids() == []


def test_dbus_needs_its_socket(pidone_ns: Factory) -> None:
    d = pidone_ns({"t.service": unit("Type=dbus\nBusName=org.example.T\nExecStart=/bin/sleep 1")})
    r = d.cli("start", "t")
    assert (r.returncode, r.stderr) == (
        5,
        "Failed to start t.service: Unit dbus.socket not found.\n",
    )


def test_exec_reports_a_failed_execve_as_a_failed_start(pidone_ns: Factory) -> None:
    d = pidone_ns({"t.service": unit("Type=exec\nExecStart=/nonexistent/prog")})
    r = d.cli("start", "t.service")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "Job for t.service failed because the control process exited with error code.",
        'See "systemctl status t.service" and "journalctl -xeu t.service" for details.',
    ]
    info = d.status("t.service")
    assert (info["active"], info["result"]) == ("failed", "exit-code")


def test_simple_with_a_failed_execve_starts_then_fails(pidone_ns: Factory) -> None:
    d = pidone_ns({"t.service": unit("ExecStart=/nonexistent/prog")})
    r = d.cli("start", "t")
    assert (r.returncode, r.stderr) == (0, "")  # spec 06 §2.1: simple prints nothing
    d.wait_state("t.service", "failed")


def test_forking_with_pid_file(pidone_ns: Factory, tmp_path: Path) -> None:
    pidfile = tmp_path / "f.pid"
    script = write(tmp_path, "forking.sh", f"#!/bin/sh\n/bin/sleep 1000 &\necho $! > {pidfile}\n")
    d = pidone_ns({"f.service": unit(f"Type=forking\nPIDFile={pidfile}\nExecStart={script}")})
    assert d.cli("start", "f").returncode == 0
    info = wait_main_comm(d, "f.service", "sleep")
    assert info["main_pid"] == int(pidfile.read_text())
    assert d.cli("stop", "f").returncode == 0
    assert not pidfile.exists()  # removed after stop (service_enter_dead())
    assert d.namespace_pids() == []


def test_forking_without_pid_file_guesses_the_main_pid(pidone_ns: Factory, tmp_path: Path) -> None:
    script = write(tmp_path, "forking.sh", "#!/bin/sh\n/bin/sleep 1000 &\n")
    d = pidone_ns({"g.service": unit(f"Type=forking\nExecStart={script}")})
    assert d.cli("start", "g").returncode == 0
    info = wait_main_comm(d, "g.service", "sleep")
    assert [pid for pid, _cmd in info["processes"]] == [info["main_pid"]]


def test_forking_guess_picks_our_child_among_its_children(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    # The daemon (re-parented to pidone as the forking parent exits) has two children of
    # its own in the unit: only it is pidone's child, so only it can be the guess.
    daemon = write(tmp_path, "daemon.sh", "#!/bin/sh\n/bin/sleep 1000 &\n/bin/sleep 1000 &\nwait\n")
    script = write(
        tmp_path,
        "forking.sh",
        f"#!/bin/sh\n{daemon} &\nwhile [ $(pgrep -c -P $! sleep) -lt 2 ]; do sleep 0.01; done\n",
    )
    d = pidone_ns({"g.service": unit(f"Type=forking\nExecStart={script}")})
    assert d.cli("start", "g").returncode == 0
    info = wait_main_comm(d, "g.service", "daemon.sh")
    assert len(info["processes"]) == 3, info["processes"]
    assert d.cli("stop", "g").returncode == 0
    assert d.namespace_pids() == []


def test_oneshot_runs_every_exec_start_in_order(pidone_ns: Factory, tmp_path: Path) -> None:
    out = tmp_path / "out"
    d = pidone_ns(
        {
            "o.service": unit(
                "Type=oneshot\nRemainAfterExit=yes\n"
                f"ExecStart=/bin/sh -c 'echo one >> {out}'\n"
                f"ExecStart=/bin/sh -c 'echo two >> {out}'"
            ),
            "p.service": unit(f"Type=oneshot\nExecStart=/bin/sh -c 'echo three >> {out}'"),
        }
    )
    assert d.cli("start", "o").returncode == 0
    assert d.state("o.service") == "active/exited"  # start returned after both commands
    assert out.read_text() == "one\ntwo\n"
    assert d.cli("start", "p").returncode == 0
    assert d.state("p.service") == "inactive/dead"
    assert out.read_text() == "one\ntwo\nthree\n"


def test_oneshot_failure_fails_the_start(pidone_ns: Factory) -> None:
    d = pidone_ns({"o.service": unit("Type=oneshot\nExecStart=/bin/false\nExecStart=/bin/true")})
    r = d.cli("start", "o")
    assert r.returncode == 1
    assert "failed because the control process exited with error code." in r.stderr
    assert d.status("o.service")["result"] == "exit-code"


def test_notify_start_returns_when_ready(pidone_ns: Factory, tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "n.py",
        NOTIFY + "time.sleep(0.3)\nnotify('READY=1\\nSTATUS=serving')\ntime.sleep(1000)\n",
    )
    d = pidone_ns({"n.service": unit(f"Type=notify\nExecStart={PY} {script}")})
    assert d.cli("start", "n").returncode == 0
    info = d.status("n.service")  # no waiting: start blocks until READY=1
    assert (info["active"], info["sub"], info["status_text"]) == ("active", "running", "serving")
