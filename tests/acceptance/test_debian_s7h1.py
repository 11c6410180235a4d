"""Everyday Debian units (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged units in an isolated namespace (PID, mount and network; a tmpfs on
/run mounted as systemd mounts it: `iso` of test_debian_system_services), with
`--tmpfiles=yes` (a container's init that owns its /run). What each one exercises that no
other test does:

- openssh-server: bookworm's ssh.socket is Accept=no (ListenStream=22): the first
  connection starts ssh.service, whose `sshd -D` takes the listening socket through
  LISTEN_FDS (Debian's sd_listen_fds() patch) instead of binding port 22 itself. A reload
  ends it (exit 255, kept down by RestartPreventExitStatus=), as under systemd 252; the
  next connection starts it again.
- networkd-dispatcher: `%p` in `EnvironmentFile=-/etc/default/%p` (the file's
  `--run-startup-triggers` reaches ExecStart= through `$networkd_dispatcher_args`), two
  `ConditionPathExistsGlob=|` triggers (`*/*`: skipped while no hook script exists, as in
  252, then started once one does), Type=notify from a Python daemon on the system bus
  (dbus.socket started first: the unit does not pull the bus in).
- dhcpcd: Type=forking with PIDFile= inside its RuntimeDirectory=, an ExecStop= that asks
  the manager process to exit (`dhcpcd -x`), ProtectSystem=strict with ReadWritePaths=
  naming files (/etc/resolv.conf, /etc/dhcpcd.conf) as well as directories.
- man-db: man-db.timer (OnCalendar=daily, RandomizedDelaySec=12h, Persistent=true) with a
  stamp from a run two days ago: list-timers shows it as LAST, and the missed run is due
  within the delay after the manager's start (the catch-up); man-db.service is a oneshot
  of three ExecStart= lines, the first `+` (as root, making /var/cache/man for the `man`
  user), the others as User=man.
- courier-authdaemon: Type=forking whose PIDFile= lives in a tmpfiles.d directory
  (/run/courier/authdaemon), the main PID its logger; ExecStop= `authdaemond stop`;
  `authtest` through its socket.

Downloads (bookworm, --no-install-recommends): openssh-server none (test_debian_system_
services has it), networkd-dispatcher about 0.02 MB (with python3-dbus and python3-gi, when
missing, about 0.3 MB more), dhcpcd about 0.2 MB, man-db none (installed everywhere),
courier-authdaemon about 0.11 MB.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.test_debian_system_services import (
    Iso,
    banner,
    iso,
    no_reload,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso"]  # the fixture, imported so that pytest finds it here


@pytest.fixture
def owner(iso: Callable[..., Iso]) -> Callable[[], Iso]:
    """`owner()` starts an isolated daemon as the owner of its /run (after require())."""
    return functools.partial(iso, args=["--tmpfiles=yes"])


def _sshd_listeners(d: Iso) -> list[int]:
    return [pid for pid, _state, comm in d.namespace_processes() if comm == "sshd"]


def test_ssh_socket_hands_port_22_to_sshd(owner: Callable[[], Iso]) -> None:
    """ssh.socket (Accept=no): a connection starts ssh.service, which answers through the
    inherited listening socket; stopping both leaves nothing, /run/sshd included."""
    require("openssh-server")
    d = owner()
    r = d.cli("start", "ssh.socket")
    assert (r.returncode, r.stderr) == (0, "")
    text = d.cli("status", "ssh.socket").stdout
    assert "Active: active (listening)" in text, text
    assert "Triggers: ● ssh.service" in text, text
    assert "Listen: [::]:22 (Stream)" in text, text
    assert d.state("ssh") == "inactive/dead"

    assert banner(d, 22).startswith("SSH-2.0-OpenSSH"), d.journal()
    d.wait_state("ssh.service", "active/running")
    assert d.state("ssh.socket") == "active/running"
    # the connection's own sshd ends with the connection: then one listener is left
    d.wait_for(lambda: len(_sshd_listeners(d)) == 1, what="the connection's sshd to end")
    text = status_lists(d, "ssh", "sshd")
    assert "TriggeredBy: ● ssh.socket" in text, text
    assert re.search(r"Process: \d+ ExecStartPre=/usr/sbin/sshd -t \(code=exited", text), text
    # sshd listens on the socket's fd: a second connection is answered by the same sshd
    main = d.status("ssh")["main_pid"]
    assert banner(d, 22).startswith("SSH-2.0-OpenSSH")
    assert d.status("ssh")["main_pid"] == main

    # A reload (SIGHUP) makes sshd re-execute itself without the LISTEN_FDS its
    # sd_listen_fds() took out of the environment: it binds port 22 itself, which the
    # socket holds, and exits 255; RestartPreventExitStatus=255 keeps it down. systemd
    # 252 ends the same way (oracle). The next connection starts it again.
    r = d.cli("reload", "ssh")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state("ssh.service", "failed/failed")
    journal = d.journal("-u", "ssh")
    assert "ssh.service: Main process exited, code=exited, status=255/EXCEPTION" in journal
    assert d.state("ssh.socket") == "active/listening"
    assert banner(d, 22).startswith("SSH-2.0-OpenSSH")
    d.wait_state("ssh.service", "active/running")
    assert d.status("ssh")["main_pid"] != main

    r = d.cli("stop", "ssh.socket", "ssh.service")
    assert (r.returncode, r.stderr) == (0, "")  # nothing left to warn about
    assert d.state("ssh.socket") == "inactive/dead"
    d.wait_for(lambda: not d.namespace_processes(), what="every sshd to exit")
    assert d.state("ssh") == "inactive/dead"
    assert not d.exists("/run/sshd")  # RuntimeDirectory=sshd
    assert banner(d, 22).startswith("error:")


def test_networkd_dispatcher_environment_file_by_prefix(owner: Callable[[], Iso]) -> None:
    """networkd-dispatcher: `/etc/default/%p` gives its arguments; Type=notify on the bus."""
    require("networkd-dispatcher")
    d = owner()
    # Its start conditions want a hook script in either tree: empty both (the namespace's
    # own mounts; chrony and nslcd ship hooks in /usr/lib/networkd-dispatcher).
    for tree in ("/etc/networkd-dispatcher", "/usr/lib/networkd-dispatcher"):
        assert d.inside("mount", "-t", "tmpfs", "tmpfs", tree).returncode == 0
    r = d.cli("start", "networkd-dispatcher")
    assert (r.returncode, r.stderr) == (0, "")
    skipped = (
        "networkd-dispatcher.service - Dispatcher daemon for systemd-networkd was skipped "
        "because no trigger condition checks were met."
    )
    assert skipped in d.journal("-u", "networkd-dispatcher")
    hook = "/etc/networkd-dispatcher/routable.d/50-test"
    r = d.inside("sh", "-c", f"mkdir -p {hook.rsplit('/', 1)[0]} && printf '#!/bin/sh\\n' >{hook}")
    assert r.returncode == 0, r.stderr
    assert d.inside("chmod", "755", hook).returncode == 0
    r = d.cli("start", "dbus.socket")
    assert r.returncode == 0, r.stdout + r.stderr
    info = start(d, "networkd-dispatcher")
    text = status_lists(d, "networkd-dispatcher", "networkd-dispat")
    # /etc/default/networkd-dispatcher: networkd_dispatcher_args="--run-startup-triggers"
    line = f"{info['main_pid']} /usr/bin/python3 /usr/bin/networkd-dispatcher"
    assert f"{line} --run-startup-triggers" in text, text
    no_reload(d, "networkd-dispatcher")
    restart_new_main(d, "networkd-dispatcher")
    stop_all_gone(d, "networkd-dispatcher", keep=("dbus-daemon",))
    journal = d.journal("-u", "networkd-dispatcher")
    assert "Started networkd-dispatcher.service - Dispatcher daemon for systemd-networkd." in (
        journal
    )


def test_dhcpcd_forking_with_exec_stop(owner: Callable[[], Iso]) -> None:
    """dhcpcd: Type=forking, PIDFile= in RuntimeDirectory=, ExecStop= `dhcpcd -x`."""
    require("dhcpcd")
    d = owner()
    info = start(d, "dhcpcd")
    status_lists(d, "dhcpcd", "dhcpcd")
    assert d.read("/run/dhcpcd/pid").strip() == str(info["main_pid"])
    # the manager and its privilege-separated proxies, all in the unit
    procs = [p for p in d.namespace_processes() if p[2] == "dhcpcd"]
    assert len(procs) >= 3, procs
    no_reload(d, "dhcpcd")
    restart_new_main(d, "dhcpcd")
    stop_all_gone(d, "dhcpcd")
    assert not d.exists("/run/dhcpcd")
    journal = d.journal("-u", "dhcpcd")
    assert re.search(r"dhcpcd\[\d+\]: sending signal TERM to pid \d+", journal), journal
    assert "dhcpcd.service: Deactivated successfully." in journal, journal


@pytest.fixture
def stamped(tmp_path: Path) -> Iterator[Callable[[str, float], Iso]]:
    """`stamped(timer, age)`: an isolated daemon (`--tmpfiles=yes`) whose state directory
    holds a Persistent= stamp of `timer` dated `age` seconds ago, as a machine that ran the
    timer before has in /var/lib/systemd/timers."""
    started: list[Iso] = []

    def make(timer: str, age: float) -> Iso:
        d = Iso(tmp_path / f"ns{len(started)}", isolated=True, args=["--tmpfiles=yes"])
        stamps = d.state_dir / "timers"
        stamps.mkdir(parents=True)
        stamp = stamps / f"stamp-{timer}"
        stamp.touch()
        when = time.time() - age
        os.utime(stamp, (when, when))
        started.append(d)
        return d.__enter__()

    try:
        yield make
    finally:
        for d in started:
            d.close()


_DAY = 24 * 3600


def test_man_db_timer_and_its_oneshot(stamped: Callable[[str, float], Iso]) -> None:
    """man-db.timer: LAST from the Persistent= stamp, the missed run due within
    RandomizedDelaySec= of the start; man-db.service by hand: three ExecStart= lines, the
    first as root."""
    require("man-db")
    booted = datetime.now(UTC)
    d = stamped("man-db.timer", 2 * _DAY + 600)
    r = d.cli("start", "man-db.timer")
    assert (r.returncode, r.stderr) == (0, "")
    assert d.state("man-db.timer") == "active/waiting"
    text = d.cli("list-timers").stdout
    row = next((line for line in text.splitlines() if " man-db.timer " in line), "")
    assert row.endswith(" man-db.timer man-db.service"), text
    # LAST: the stamp, two days ago (252's format_timestamp_relative(): "2 days ago")
    assert " 2 days ago " in row, text
    status = d.cli("status", "man-db.timer").stdout
    assert "Active: active (waiting)" in status, status
    assert "Triggers: ● man-db.service" in status, status
    show = subprocess.run(
        [sys.executable, "-m", "pidone", "show", "-p", "NextElapseUSecRealtime", "man-db.timer"],
        env={**d.env, "TZ": "UTC"},
        capture_output=True,
        text=True,
        check=False,
    )
    shown = show.stdout.strip().removeprefix("NextElapseUSecRealtime=")
    nxt = datetime.strptime(shown, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    # The run due at the last midnight was missed: timer_enter_waiting() (systemd 252)
    # moves an elapse in the past up to the manager's start, then adds the draw.
    assert booted - timedelta(seconds=1) <= nxt < booted + timedelta(hours=12), (shown, booted)

    r = d.cli("start", "man-db.service")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("man-db.service") == "inactive/dead"
    text = d.cli("status", "man-db.service").stdout
    commands = re.findall(r"Process: \d+ ExecStart=(\S+) .*\(code=exited, status=0/SUCCESS\)", text)
    assert commands == ["/usr/bin/install", "/usr/bin/find", "/usr/bin/mandb"], text
    assert "TriggeredBy: ● man-db.timer" in text, text
    assert os.stat("/var/cache/man").st_uid == pwd.getpwnam("man").pw_uid
    journal = d.journal("-u", "man-db.service")
    assert "Finished man-db.service - Daily man-db regeneration." in journal, journal

    r = d.cli("stop", "man-db.timer")
    assert (r.returncode, r.stderr) == (0, "")
    status = d.cli("status", "man-db.timer").stdout
    assert "Trigger: n/a" in status, status


def test_courier_authdaemon_forking_in_a_tmpfiles_directory(owner: Callable[[], Iso]) -> None:
    """courier-authdaemon: PIDFile= in /run/courier/authdaemon (tmpfiles.d), its logger as
    the main PID, ExecStop= `authdaemond stop`; authtest through its socket."""
    require("courier-authdaemon")
    d = owner()
    info = start(d, "courier-authdaemon")
    assert info["main_comm"] == "courierlogger", info
    status_lists(d, "courier-authdaemon", "authdaemond")
    r = d.inside("authtest", "root")
    assert "Authenticated: root" in r.stdout, r.stdout + r.stderr
    no_reload(d, "courier-authdaemon")
    restart_new_main(d, "courier-authdaemon")
    assert "Authenticated: root" in d.inside("authtest", "root").stdout
    stop_all_gone(d, "courier-authdaemon")
    assert not d.exists("/run/courier/authdaemon/pid")
