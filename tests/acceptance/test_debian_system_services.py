"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (a policy-rc.d that exits 101 keeps the maintainer
scripts from starting anything), then runs the issue's sequence on the packaged unit:
start, a protocol probe on loopback, `pidone status` (Main PID, CGroup tree), reload where
the unit has ExecReload=, restart, stop, and nothing of the unit left.

The daemons run isolated (pidone.testing.harness, `isolated=True`): PID 1 of fresh PID,
mount and network namespaces with a tmpfs on /run. These services write /run/sshd.pid,
/run/chrony, /run/dbus/system_bus_socket, /run/systemd/journal/syslog and the like; on a
shared /run they would touch the host's files and collide with other test runs. Probes
run inside all three namespaces (`inside`). PID 1 with the system unit path runs the
unit generators (linux/generators.py), as postfix and exim4 need.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pidone.testing.harness import NamespaceDaemon
from tests.acceptance.conftest import require

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


class Iso(NamespaceDaemon):
    """An isolated daemon that sees the system's unit files, plus probes from inside."""

    def inside(self, *argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a command in the daemon's PID, mount and network namespaces (as root)."""
        return subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-m", "-n", "-p", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def py(self, code: str, *args: str) -> str:
        r = self.inside(sys.executable, "-S", "-c", code, *args)
        return r.stdout.strip() or r.stderr.strip()

    def status(self, unit: str) -> dict[str, Any]:
        """The daemon's status record (`ssh` means ssh.service, as on the command line)."""
        return super().status(unit if "." in unit else f"{unit}.service")

    def state(self, unit: str) -> str:
        return super().state(unit if "." in unit else f"{unit}.service")

    def exists(self, path: str) -> bool:
        return self.inside("test", "-e", path).returncode == 0

    def read(self, path: str) -> str:
        return self.inside("cat", path).stdout


@pytest.fixture
def iso(tmp_path: Path) -> Iterator[Callable[..., Iso]]:
    """`iso()` starts the daemon: after require(), since the generators run at start-up.
    `iso(args=[...], masked=[UNIT...])`: daemon options, and units masked as `systemctl
    mask` does (a link to /dev/null in the daemon's unit directory)."""
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip(f"util-linux {tool} is not installed")
    started: list[Iso] = []

    def make(*, args: Sequence[str] = (), masked: Sequence[str] = ()) -> Iso:
        d = Iso(tmp_path / f"ns{len(started)}", isolated=True, args=args)
        for unit in masked:
            os.symlink("/dev/null", d.unit_dir / unit)
        started.append(d)
        return d.__enter__()

    try:
        yield make
    finally:
        for d in started:
            d.close()


# --- probes (run inside the namespace) -------------------------------------------------------

# The first line a TCP server sends on 127.0.0.1:PORT (SSH, SMTP and FTP greet first).
_BANNER = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    print(s.makefile('rb').readline().decode('latin-1').strip())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# One DNS query (RFC 1035 4.1) for `localhost` IN A over UDP to 127.0.0.1:53; prints the
# address of the last answer record, or the error.
_DNS = (
    "import socket, struct\n"
    "q = struct.pack('>HHHHHH', 0x4835, 0x0100, 1, 0, 0, 0) + b'\\x09localhost\\x00' "
    "+ struct.pack('>HH', 1, 1)\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(5)\n"
    "try:\n"
    "    s.sendto(q, ('127.0.0.1', 53))\n"
    "    r = s.recv(4096)\n"
    "    ident, flags, qd, an = struct.unpack('>HHHH', r[:8])\n"
    "    print(ident == 0x4835 and an and socket.inet_ntoa(r[-4:]) or 'no answer %#x' % flags)\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def banner(d: Iso, port: int) -> str:
    return d.py(_BANNER, str(port))


def dns_localhost(d: Iso) -> str:
    return d.py(_DNS)


# --- the sequence -------------------------------------------------------------------------------


def start(d: Iso, unit: str) -> dict[str, Any]:
    r = d.cli("start", unit)
    assert r.returncode == 0, f"{r.stdout}{r.stderr}\n{d.cli('status', unit).stdout}"
    info = d.status(unit)
    assert (info["active"], info["sub"]) == ("active", "running"), info
    return info


def status_lists(d: Iso, unit: str, comm: str, main: bool = True) -> str:
    """`pidone status` has the Active line, Main PID (when systemd has one) and every
    process named `comm` of the namespace in its CGroup tree."""
    text = d.cli("status", unit).stdout
    assert "Active: active (running)" in text, text
    info = d.status(unit)
    if main:
        assert re.search(rf"Main PID: {info['main_pid']} \(", text), text
    else:
        assert "Main PID:" not in text, text  # GuessMainPID=no: systemd has none either
    listed = {int(m) for m in re.findall(r"[├└]─ *(\d+) ", text)}
    ours = {pid for pid, _state, name in d.namespace_processes() if name == comm}
    assert ours, d.namespace_processes()
    assert ours <= listed, text
    return text


def reload_keeps_main(d: Iso, unit: str) -> int:
    main = int(d.status(unit)["main_pid"])
    r = d.cli("reload", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    # A Type=notify service may send RELOADING=1 after its ExecReload= (`kill -HUP`) has
    # exited and the reload job is done; it is then "reloading" until its READY=1, in
    # systemd 252 as here (service_enter_reload_by_notify()).
    info = d.wait_state(unit if "." in unit else f"{unit}.service", "active/running")
    assert info["main_pid"] == main
    return main


def no_reload(d: Iso, unit: str) -> None:
    """No ExecReload=: refused (systemd: "Job type reload is not applicable"), untouched."""
    main = d.status(unit)["main_pid"]
    r = d.cli("reload", unit)
    assert r.returncode != 0
    assert "not applicable" in r.stderr + r.stdout
    assert d.status(unit)["main_pid"] == main


def restart_new_main(d: Iso, unit: str) -> None:
    main = d.status(unit)["main_pid"]
    assert d.cli("restart", unit).returncode == 0
    info = d.status(unit)
    assert (info["active"], info["sub"]) == ("active", "running")
    assert info["main_pid"] != main


def stop_all_gone(d: Iso, unit: str, *, keep: tuple[str, ...] = ()) -> None:
    """Stop; no process of the namespace is left but those named in `keep` (other units')."""
    r = d.cli("stop", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state(unit) == "inactive/dead"
    d.wait_for(
        lambda: not [p for p in d.namespace_processes() if p[2] not in keep],
        what=f"every process of {unit} to exit",
    )


# --- the services ---------------------------------------------------------------------------------


def test_openssh_server(iso: Callable[[], Iso]) -> None:
    """ssh.service: Type=notify (bookworm), `sshd -t` as ExecStartPre=, RuntimeDirectory=sshd,
    ExecReload= `sshd -t` then `kill -HUP $MAINPID`, KillMode=process."""
    require("openssh-server")
    d = iso()
    start(d, "ssh")
    assert banner(d, 22).startswith("SSH-2.0-OpenSSH"), banner(d, 22)
    text = status_lists(d, "ssh", "sshd")
    assert re.search(r"Process: \d+ ExecStartPre=/usr/sbin/sshd -t \(code=exited, status=0", text)
    assert d.inside("stat", "-c", "%a %U", "/run/sshd").stdout.split() == ["755", "root"]
    main = reload_keeps_main(d, "ssh")
    # SIGHUP: sshd re-executes itself (same PID) and writes its PID file again
    d.wait_for(lambda: d.read("/run/sshd.pid").strip() == str(main), what="/run/sshd.pid")
    d.wait_for(lambda: banner(d, 22).startswith("SSH-2.0-OpenSSH"), what="sshd to answer")
    restart_new_main(d, "ssh")
    assert banner(d, 22).startswith("SSH-2.0-OpenSSH")
    stop_all_gone(d, "ssh")
    assert not d.exists("/run/sshd.pid")
    assert not d.exists("/run/sshd")  # RuntimeDirectory= removed
    assert "Started ssh.service" in d.journal("-u", "ssh")


def test_cron(iso: Callable[[], Iso]) -> None:
    """cron.service: EnvironmentFile=-/etc/default/cron, `cron -f $EXTRA_OPTS` (unset
    variable: no argument), KillMode=process, no ExecReload=."""
    require("cron")
    d = iso()
    info = start(d, "cron")
    status_lists(d, "cron", "cron")
    assert d.read("/run/crond.pid").strip() == str(info["main_pid"])
    assert d.inside("ps", "-o", "args=", "-p", str(info["main_pid"])).stdout.strip() == (
        "/usr/sbin/cron -f"
    )
    no_reload(d, "cron")
    restart_new_main(d, "cron")
    stop_all_gone(d, "cron")
    # cron never removes /run/crond.pid and the unit has no PIDFile=: systemd leaves it too


def test_rsyslog_through_syslog_socket(iso: Callable[[], Iso]) -> None:
    """rsyslog.service: Type=notify, Requires=syslog.socket (ListenDatagram=
    /run/systemd/journal/syslog, handed over with LISTEN_FDS), StandardOutput=null; the
    socket activates syslog.service, an alias of rsyslog.service in /etc/systemd/system."""
    require("rsyslog")
    d = iso()
    # rsyslog takes the socket only when sd_booted(3) says a manager passes sockets; pidone
    # creates /run/systemd/system as the machine's or a container's init (daemon/boot.py),
    # not as a test daemon. This namespace's /run is private: mark it as that init would.
    assert d.inside("mkdir", "-p", "/run/systemd/system").returncode == 0
    start(d, "rsyslog")
    text = status_lists(d, "rsyslog", "rsyslogd")
    assert "TriggeredBy: ● syslog.socket" in text, text  # through the alias syslog.service
    assert "Triggers: ● rsyslog.service" in d.cli("status", "syslog.socket").stdout
    assert d.state("syslog.socket") == "active/running"  # its service runs (systemd's word)

    def logged(token: str) -> bool:
        # RFC 3164 line, user.notice, into the socket rsyslog got from pidone
        send = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
            "s.sendto(('<13>pidone-h5: ' + sys.argv[1]).encode(), '/run/systemd/journal/syslog')\n"
        )
        d.py(send, token)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if token in Path("/var/log/syslog").read_text(errors="replace")[-200_000:]:
                return True
            time.sleep(0.1)
        return False

    assert logged(f"first-{uuid.uuid4().hex}")
    no_reload(d, "rsyslog")
    restart_new_main(d, "rsyslog")
    assert logged(f"restarted-{uuid.uuid4().hex}")
    stop_all_gone(d, "rsyslog")
    # the socket still listens; a message starts syslog.service, i.e. rsyslog, again
    assert d.state("syslog.socket") == "active/listening"
    assert logged(f"activated-{uuid.uuid4().hex}")
    assert d.state("rsyslog.service") == "active/running"
    assert d.cli("stop", "rsyslog", "syslog.socket").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="rsyslogd to exit")
    assert d.state("syslog.socket") == "inactive/dead"
    # the socket file stays: RemoveOnStop= defaults to off (systemd.socket(5))
    assert d.exists("/run/systemd/journal/syslog")


def test_chrony(iso: Callable[[], Iso]) -> None:
    """chrony.service: ConditionCapability=CAP_SYS_TIME, Type=forking with PIDFile= in its
    RuntimeDirectory= (mode 0700, RuntimeDirectoryPreserve=restart), User=_chrony with the
    `!` prefix (chronyd drops privileges itself), CapabilityBoundingSet=~..., sandboxing."""
    require("chrony")
    d = iso()
    info = start(d, "chrony")
    status_lists(d, "chrony", "chronyd")
    assert d.read("/run/chrony/chronyd.pid").strip() == str(info["main_pid"])
    assert d.inside("stat", "-c", "%a %U", "/run/chrony").stdout.split() == ["700", "_chrony"]
    tracking = d.inside("chronyc", "-n", "tracking")
    assert "Reference ID" in tracking.stdout, tracking.stdout + tracking.stderr
    no_reload(d, "chrony")
    restart_new_main(d, "chrony")
    assert "Reference ID" in d.inside("chronyc", "-n", "tracking").stdout
    stop_all_gone(d, "chrony")
    assert not d.exists("/run/chrony/chronyd.pid")


def test_dnsmasq(iso: Callable[[], Iso]) -> None:
    """dnsmasq.service: Type=forking, PIDFile=, ExecStartPre=/ExecStartPost=/ExecStop=
    helper scripts, reload by SIGHUP to $MAINPID."""
    require("dnsmasq")
    d = iso()
    info = start(d, "dnsmasq")
    assert dns_localhost(d) == "127.0.0.1"
    status_lists(d, "dnsmasq", "dnsmasq")
    assert d.read("/run/dnsmasq/dnsmasq.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "dnsmasq")
    assert dns_localhost(d) == "127.0.0.1"
    restart_new_main(d, "dnsmasq")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "dnsmasq")
    assert not d.exists("/run/dnsmasq/dnsmasq.pid")  # PIDFile= removed after stop


def test_unbound(iso: Callable[[], Iso]) -> None:
    """unbound.service: Type=notify, `-` ExecStartPre= helpers, ExecReload=+/bin/kill -HUP
    $MAINPID, ExecStopPost=-; unbound-resolvconf.service is pulled in by a .wants link and
    skipped by its ConditionFileIsExecutable=/sbin/resolvconf."""
    # dns-root-data (unbound's Recommends:) holds the root key that unbound-helper copies
    # to /var/lib/unbound/root.key; without it unbound exits 1, under systemd 252 too.
    require("unbound", "dns-root-data")
    d = iso()
    start(d, "unbound")
    assert dns_localhost(d) == "127.0.0.1"
    status_lists(d, "unbound", "unbound")
    reload_keeps_main(d, "unbound")
    assert dns_localhost(d) == "127.0.0.1"
    restart_new_main(d, "unbound")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "unbound")


def test_bind9_named(iso: Callable[[], Iso]) -> None:
    """named.service (alias bind9.service): Type=notify with STATUS=, ExecReload= and
    ExecStop= through rndc."""
    require("bind9", "bind9-utils")
    d = iso()
    start(d, "bind9")  # the alias, as /etc/systemd/system/bind9.service links it
    assert d.status("named.service")["sub"] == "running"
    assert dns_localhost(d) == "127.0.0.1"
    text = status_lists(d, "named", "named")
    assert 'Status: "running"' in text
    reload_keeps_main(d, "named")
    assert "server reload successful" in d.journal("-u", "named")
    assert dns_localhost(d) == "127.0.0.1"
    restart_new_main(d, "named")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "named")
    assert not d.exists("/run/named/named.pid")


def test_postfix_instance_from_its_generator(iso: Callable[[], Iso]) -> None:
    """postfix.service is a oneshot /bin/true; postfix@-.service comes through the
    postfix-instance-generator's postfix.service.wants/ link, with PartOf= and
    ReloadPropagatedFrom=postfix.service; Type=forking, GuessMainPID=no."""
    require("postfix")
    d = iso()
    r = d.cli("start", "postfix")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("postfix.service") == "active/exited"
    assert d.state("postfix@-.service") == "active/running"
    assert "ESMTP Postfix" in banner(d, 25), banner(d, 25)
    status_lists(d, "postfix@-", "master", main=False)
    master = d.read("/var/spool/postfix/pid/master.pid").strip()
    assert d.cli("reload", "postfix").returncode == 0  # propagated to postfix@-
    assert d.read("/var/spool/postfix/pid/master.pid").strip() == master
    assert "ESMTP Postfix" in banner(d, 25)
    assert d.cli("restart", "postfix").returncode == 0  # PartOf=: postfix@- restarts too
    assert d.read("/var/spool/postfix/pid/master.pid").strip() != master
    assert "ESMTP Postfix" in banner(d, 25)
    assert d.cli("stop", "postfix").returncode == 0
    # the stop job of postfix.service is the one waited for; postfix@- (Before=postfix, so
    # stopped after it) may still be stopping, as with systemctl
    d.wait_state("postfix@-.service", "inactive/dead")
    d.wait_for(lambda: not d.namespace_processes(), what="every postfix process to exit")


def test_exim4_from_its_lsb_script(iso: Callable[[], Iso]) -> None:
    """exim4 has no unit file, only /etc/init.d/exim4: systemd-sysv-generator makes
    exim4.service (Type=forking, GuessMainPID=no, RemainAfterExit=yes) in the late
    generator directory. exim4-daemon-light conflicts with postfix: installing one
    removes the other."""
    require("exim4-daemon-light")
    d = iso()
    r = d.cli("start", "exim4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ESMTP Exim" in banner(d, 25), banner(d, 25)
    text = status_lists(d, "exim4", "exim4", main=False)
    # the generated file's SourcePath=, as systemctl 252 shows it (oracle: webfs)
    assert "Loaded: loaded (/etc/init.d/exim4; generated)" in text, text
    pid = d.read("/run/exim4/exim.pid").strip()
    assert d.cli("reload", "exim4").returncode == 0
    assert d.read("/run/exim4/exim.pid").strip() == pid  # SIGHUP: exim re-execs in place
    assert d.cli("restart", "exim4").returncode == 0
    assert d.read("/run/exim4/exim.pid").strip() != pid
    assert "ESMTP Exim" in banner(d, 25)
    assert d.cli("stop", "exim4").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="exim4 to exit")
    assert not d.exists("/run/exim4/exim.pid")
    assert "Starting MTA: exim4." in d.journal("-u", "exim4")


def test_vsftpd(iso: Callable[[], Iso]) -> None:
    """vsftpd.service: Type=simple, ExecStartPre=-/bin/mkdir -p /var/run/vsftpd/empty."""
    require("vsftpd")
    d = iso()
    start(d, "vsftpd")
    assert banner(d, 21).startswith("220 (vsFTPd"), banner(d, 21)
    status_lists(d, "vsftpd", "vsftpd")
    reload_keeps_main(d, "vsftpd")
    assert banner(d, 21).startswith("220 (vsFTPd")
    restart_new_main(d, "vsftpd")
    assert banner(d, 21).startswith("220 (vsFTPd")
    stop_all_gone(d, "vsftpd")


def test_avahi_daemon_is_started_when_its_bus_name_appears(iso: Callable[[], Iso]) -> None:
    """avahi-daemon.service: Type=dbus, BusName=org.freedesktop.Avahi, Requires=
    avahi-daemon.socket; Type=dbus adds Requires=/After=dbus.socket, so the system bus is
    socket-activated by avahi's own connection and the unit is started once the name is
    on the bus."""
    require("avahi-daemon", "dbus")
    d = iso()
    start(d, "avahi-daemon")
    assert d.state("dbus.service") == "active/running"
    journal = d.journal("-u", "avahi-daemon")
    assert "has no bus" not in journal, journal
    version = d.inside(
        "dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.Avahi", "/",
        "org.freedesktop.Avahi.Server.GetVersionString",
    )  # fmt: skip
    assert '"avahi 0.8"' in version.stdout, version.stdout + version.stderr
    assert d.inside("avahi-daemon", "-c").returncode == 0  # its own "is it running?"
    status_lists(d, "avahi-daemon", "avahi-daemon")
    reload_keeps_main(d, "avahi-daemon")
    restart_new_main(d, "avahi-daemon")
    assert d.inside("avahi-daemon", "-c").returncode == 0
    stop_all_gone(d, "avahi-daemon", keep=("dbus-daemon",))  # dbus.service is not avahi's
    assert d.cli("stop", "dbus.socket", "dbus.service", "avahi-daemon.socket").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="dbus-daemon to exit")


def test_atd(iso: Callable[[], Iso]) -> None:
    """atd.service: ExecStartPre=-find ... (a command without an absolute path, looked up
    as systemd 252 does), KillMode=process, no ExecReload=."""
    require("at")
    d = iso()
    info = start(d, "atd")
    status_lists(d, "atd", "atd")
    assert d.read("/run/atd.pid").strip() == str(info["main_pid"])
    no_reload(d, "atd")
    restart_new_main(d, "atd")
    stop_all_gone(d, "atd")
    assert not d.exists("/run/atd.pid")  # atd removes it on SIGTERM


def test_accounts_daemon_gets_polkit_through_dbus_activation(iso: Callable[[], Iso]) -> None:
    """accounts-daemon (Type=dbus) asks polkit at start-up; polkit.service is started by
    D-Bus activation (SystemdService= in its D-Bus service file): dbus-daemon asks the
    owner of org.freedesktop.systemd1, which pidone is once dbus.service runs."""
    require("accountsservice", "polkitd", "dbus")
    d = iso()
    start(d, "accounts-daemon")
    assert d.state("polkit.service") == "active/running"  # activated, not named by anyone
    found = d.inside(
        "dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.Accounts",
        "/org/freedesktop/Accounts", "org.freedesktop.Accounts.FindUserByName", "string:root",
    )  # fmt: skip
    assert "/org/freedesktop/Accounts/User0" in found.stdout, found.stdout + found.stderr
    # pidone has no D-Bus API: a call to the manager fails at once instead of timing out
    refused = d.inside(
        "dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.systemd1",
        "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager.GetUnit",
        "string:polkit.service",
    )  # fmt: skip
    assert "org.freedesktop.DBus.Error.UnknownMethod" in refused.stderr, refused.stderr
    restart_new_main(d, "accounts-daemon")
    stop_all_gone(d, "accounts-daemon", keep=("dbus-daemon", "polkitd"))
    assert d.cli("stop", "polkit", "dbus.socket", "dbus.service").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="polkitd and dbus-daemon to exit")


def test_uuidd_socket_activated(iso: Callable[[], Iso]) -> None:
    """uuidd.service: Requires=uuidd.socket, `--socket-activation`, User=uuidd; the first
    request on /run/uuidd/request starts it when only the socket was started."""
    require("uuid-runtime")
    d = iso()
    assert d.cli("start", "uuidd.socket").returncode == 0
    assert d.state("uuidd.service") == "inactive/dead"
    made = d.inside("uuidd", "-t")  # a time-based UUID from the daemon
    assert re.fullmatch(r"[0-9a-f-]{36}", made.stdout.strip()), made.stdout + made.stderr
    info = d.wait_state("uuidd.service", "active/running")
    assert d.uid_of(info["main_pid"]) == _uid("uuidd")
    status_lists(d, "uuidd", "uuidd")
    assert "TriggeredBy: ● uuidd.socket" in d.cli("status", "uuidd").stdout
    restart_new_main(d, "uuidd")
    stop_all_gone(d, "uuidd")
    assert d.state("uuidd.socket") == "active/listening"


def test_nscd_with_its_tmpfiles_directory(iso: Callable[[], Iso]) -> None:
    """nscd.service: Type=forking, PIDFile=/run/nscd/nscd.pid in a directory that only its
    tmpfiles.d line makes (`d /run/nscd`), five ExecReload= lines, ExecStop=."""
    require("nscd")
    d = iso()
    # the boot's tmpfiles pass (pidone's, as the machine's init) made /run/nscd; this
    # private /run had no boot: create it from the package's own tmpfiles.d line
    made = d.cli("tmpfiles", "--create", "/usr/lib/tmpfiles.d/nscd.conf", inside=True)
    assert made.returncode == 0, made.stderr
    assert d.exists("/run/nscd")
    info = start(d, "nscd")
    assert d.read("/run/nscd/nscd.pid").strip() == str(info["main_pid"])
    assert d.inside("getent", "hosts", "localhost").stdout.split()[0] == "127.0.0.1"
    status_lists(d, "nscd", "nscd")
    reload_keeps_main(d, "nscd")
    restart_new_main(d, "nscd")
    stop_all_gone(d, "nscd")
    assert not d.exists("/run/nscd/nscd.pid")


def _uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid
