"""Real daemons with their own Debian unit files, unchanged, through the CLI.

Each runs in an isolated namespace (own network, tmpfs /run) so that it cannot collide with
anything on the host. Skipped when the daemon is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.system.conftest import Factory
from tests.system.scripts import PY, write

pytestmark = pytest.mark.system


def need(*programs: str) -> None:
    for program in programs:
        if shutil.which(program) is None and not shutil.which(program, path="/usr/sbin"):
            pytest.skip(f"{program} is not installed")


def test_nginx_forking_with_pid_file(pidone_ns: Factory) -> None:
    need("nginx")
    d = pidone_ns(isolated=True)
    r = d.cli("start", "nginx")
    assert (r.returncode, r.stderr) == (0, "")
    info = d.status("nginx.service")
    assert (info["active"], info["sub"]) == ("active", "running")
    assert info["main_comm"] == "nginx"
    # the master's workers are tracked as the unit's processes (the master forks them
    # after the parent's exit has ended the start job: wait for them, on a loaded box)

    def workers() -> list[str]:
        procs = d.status("nginx.service")["processes"]
        return [cmd for _pid, cmd in procs if "worker process" in cmd]

    d.wait_for(lambda: bool(workers()), what="nginx's worker processes in the unit")
    assert d.cli("reload", "nginx").returncode == 0
    assert d.cli("stop", "nginx").returncode == 0
    assert d.namespace_pids() == []


def test_redis_notify(pidone_ns: Factory) -> None:
    need("redis-server")
    d = pidone_ns(isolated=True)
    assert d.cli("start", "redis-server").returncode == 0
    info = d.status("redis-server.service")
    assert (info["active"], info["status_text"]) == ("active", "Ready to accept connections")
    assert d.uid_of(info["main_pid"]) != 0  # User=redis
    assert d.cli("stop", "redis-server").returncode == 0
    assert d.namespace_pids() == []


def test_apache2_forking_reload_and_stop(pidone_ns: Factory) -> None:
    need("apache2")
    d = pidone_ns(isolated=True)
    assert d.cli("start", "apache2").returncode == 0
    info = d.status("apache2.service")
    assert (info["active"], info["main_comm"]) == ("active", "apache2")
    assert d.cli("reload", "apache2").returncode == 0
    assert "Reloaded apache2.service - The Apache HTTP Server." in d.journal("-u", "apache2")
    assert d.cli("stop", "apache2").returncode == 0
    assert d.namespace_pids() == []


def test_syslog_and_native_journal_clients_are_attributed_to_their_unit(
    pidone_ns: Factory, tmp_path: Path
) -> None:
    need("logger")
    # sd_journal_send()'s datagram protocol (native, man 7 systemd.journal-fields)
    native = write(
        tmp_path,
        "native.py",
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "s.sendto(b'MESSAGE=via-native\\nSYSLOG_IDENTIFIER=cattag\\n', "
        "'/run/systemd/journal/socket')\n",
    )
    d = pidone_ns(
        {
            "lg.service": "[Service]\nType=oneshot\n"
            "ExecStart=/usr/bin/logger -u /run/pidone-test-devlog -t mytag via-syslog\n"
            f"ExecStart={PY} {native}\n"
        },
        isolated=True,
        args=[
            "--dev-log=/run/pidone-test-devlog",
            "--journal-socket=/run/systemd/journal/socket",
        ],
    )
    assert d.cli("start", "lg").returncode == 0
    d.wait_for(
        lambda: "via-native" in d.journal("-u", "lg", "-o", "cat"),
        what="both lines in the journal",
    )
    out = d.journal("-u", "lg")
    assert " mytag[" in out
    assert "via-syslog" in out
    assert " cattag[" in out
    assert "via-native" in out
