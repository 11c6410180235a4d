"""PID 1 that owns /run (`--tmpfiles=yes` in a container) stands in for systemd there: the
name `systemd` in /proc/1/stat and journald's native socket /run/systemd/journal/socket."""

from __future__ import annotations

import shutil

import pytest

from tests.system.conftest import Factory

pytestmark = pytest.mark.system

# keepalived's check_parent_systemd(): READY=1 only under a PID 1 named systemd.
CHECKS_PID1 = (
    "[Service]\nType=notify\nNotifyAccess=all\nTimeoutStartSec=20\n"
    'ExecStart=/bin/sh -c \'case "$(head -c 12 /proc/1/stat)" in '
    '"1 (systemd) ") systemd-notify --ready;; *) exit 3;; esac; exec sleep 1000\'\n'
)
# sd_journal_send(3)'s socket; the sender lives on, so the record is placed in its unit.
NATIVE = (
    "[Service]\nExecStart=/usr/bin/python3 -c 'import socket, time; "
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
    's.sendto(b"MESSAGE=native-hello\\\\n", "/run/systemd/journal/socket"); '
    "time.sleep(1000)'\n"
)


def test_pid1_owning_run_looks_like_systemd_to_its_services(pidone_ns: Factory) -> None:
    for tool in ("systemd-notify", "python3"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    units = {"pid1.service": CHECKS_PID1, "native.service": NATIVE}
    d = pidone_ns(units, args=["--tmpfiles=yes"], isolated=True)
    r = d.cli("start", "pid1", "native")
    assert r.returncode == 0, r.stdout + r.stderr + d.cli("status", "pid1").stdout
    assert d.state("pid1.service") == "active/running"
    d.wait_for(
        lambda: "native-hello" in d.journal("-u", "native", "-o", "cat"),
        what="the native journal record",
    )
    assert d.cli("stop", "pid1", "native").returncode == 0
    # a daemon that does not own /run (the default in a test namespace) stays as it is
    plain = pidone_ns({"pid1.service": CHECKS_PID1}, isolated=True)
    assert plain.cli("start", "pid1").returncode != 0
    assert plain.state("pid1.service") == "failed/failed"


# Debian's own systemctl (not pidone's shim), by absolute path as wd_keepalive.service's
# ExecStartPre=-/bin/systemctl does: as root it dials /run/systemd/private first.
FOREIGN_SYSTEMCTL = "/usr/bin/systemctl"
ASKS_SYSTEMCTL = (
    "[Service]\nType=oneshot\nTimeoutStartSec=20\n"
    f"ExecStart=/bin/sh -c '{FOREIGN_SYSTEMCTL} show -p Listen x.socket; echo rc=$?'\n"
    f"ExecStart=/bin/sh -c '{FOREIGN_SYSTEMCTL} reset-failed x.service; echo rc=$?'\n"
)


def test_a_foreign_systemctl_gets_a_refusal_on_the_private_socket(pidone_ns: Factory) -> None:
    """/run/systemd/private answers every call with NotSupported (core/dbuspeer.py): the
    caller fails at once with pidone's reason instead of waiting for a system bus."""
    if not shutil.which(FOREIGN_SYSTEMCTL):
        pytest.skip(f"{FOREIGN_SYSTEMCTL} (systemd's own) is not installed")
    d = pidone_ns({"asks.service": ASKS_SYSTEMCTL}, args=["--tmpfiles=yes"], isolated=True)
    r = d.cli("start", "asks")
    assert r.returncode == 0, r.stdout + r.stderr
    # systemctl sees $JOURNAL_STREAM on its stderr and logs through the native journal
    # socket, a datagram that may be read after it exited (then not attributed to the
    # unit, as with journald): look for its lines in the whole journal
    d.wait_for(
        lambda: (
            d.journal("-o", "cat").count("pidone has no D-Bus API") == 2
            and d.journal("-u", "asks", "-o", "cat").count("rc=") == 2
        ),
        what="both refusals and both exit codes in the journal",
    )
    out = d.journal("-o", "cat")
    assert d.journal("-u", "asks", "-o", "cat").count("rc=1") == 2, out
    assert "Failed to connect to bus" not in out
