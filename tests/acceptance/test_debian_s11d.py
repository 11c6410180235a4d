"""Web, chat, VPN-like, proxy and system daemons of Debian (issue #4's held-back set),
started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run) whose PID 1 is started with `--tmpfiles=yes`, as a container's init would be: start, a
protocol probe inside the namespace, `pidone status` (Main PID, the unit's processes),
reload where the unit has ExecReload=, restart with a new main PID, stop with nothing left.

What a service needs that a fresh install does not give (znc's, danted's and hitch's
configuration) is bound over the packaged path inside the namespace only. Each sequence
was also run under systemd 252 on the oracle: the same states, results and systemd journal
lines, including two that end `failed` there too (inspircd exits 10 on SIGTERM; xrdp's stop
removes the RuntimeDirectory= it shares with xrdp-sesman, whose ExecStop= then finds no PID
file).

irqbalance is only started where systemd-detect-virt finds a container, where its
ConditionVirtualization=!container skips it: elsewhere it would rewrite the host's
/proc/irq/*/smp_affinity, which no namespace isolates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.kit import (
    TLS,
    bind_over,
    http,
    iso,
    main_pid,
    owned_dir,
    owner,
    self_signed,
    uid,
)
from tests.acceptance.test_debian_system_services import (
    Iso,
    banner,
    no_reload,
    reload_keeps_main,
    restart_new_main,
    start,
    status_lists,
    stop_all_gone,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

__all__ = ["iso", "owner"]  # the fixtures, imported so that pytest finds them here


# --- probes (run inside the namespace) -------------------------------------------------------

# IRC registration (RFC 2812 3.1) on 127.0.0.1:PORT: the first numeric reply (001 welcome,
# 464 password required, ...) with its text.
_IRC = (
    "import os, socket, sys\n"
    "nick = 'pidone%d' % os.getpid()  # a nick of its own: the server may hold the last one\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n"
    "    s.sendall(('NICK %s\\r\\nUSER pidone 0 * :pidone test\\r\\n' % nick).encode())\n"
    "    f = s.makefile('rb')\n"
    "    for raw in f:\n"
    "        words = raw.decode('latin-1').split()\n"
    "        if len(words) > 1 and words[1].isdigit():\n"
    "            print(words[1], ' '.join(words[3:]))\n"
    "            break\n"
    "        if words and words[0] == 'PING':\n"
    "            s.sendall(('PONG ' + words[1] + '\\r\\n').encode())\n"
    "    else:\n"
    "        print('error: closed')\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


# SOCKS5 (RFC 1928 3): offer `no authentication`; prints the method the server picks.
_SOCKS5 = (
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 1080), timeout=10)\n"
    "    s.sendall(b'\\x05\\x01\\x00')\n"
    "    r = s.recv(2)\n"
    "    print('SOCKS%d method %d' % (r[0], r[1]) if len(r) == 2 else 'reply ' + r.hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# An RDP X.224 Connection Request (MS-RDPBCGR 2.2.1.1, TPKT + X.224 CR with an RDP
# negotiation request for TLS) to 127.0.0.1:3389: prints the X.224 reply type.
_RDP = (
    "import socket\n"
    "neg = bytes.fromhex('0100080001000000')\n"
    "x224 = bytes([6 + len(neg), 0xE0, 0, 0, 0, 0, 0]) + neg\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 3389), timeout=10)\n"
    "    s.sendall(bytes([3, 0, 0, 4 + len(x224)]) + x224)\n"
    "    r = s.recv(64)\n"
    "    print('Connection Confirm' if len(r) > 5 and r[0] == 3 and r[5] == 0xD0 else r.hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)

# An XMPP stream header (RFC 6120 4.2) for `localhost` on 127.0.0.1:5222: the server's
# answer starts its own stream.
_XMPP = (
    "import socket\n"
    "hello = (\"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' \"\n"
    "         \"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\")\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 5222), timeout=10)\n"
    "    s.sendall(hello.encode())\n"
    "    r = s.recv(4096)\n"
    "    print('stream' if b'<stream:stream' in r else r[:80])\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def irc(d: Iso, port: int) -> str:
    return d.py(_IRC, str(port))


# --- the services ---------------------------------------------------------------------------


def test_tomcat10(owner: Callable[[], Iso]) -> None:
    """tomcat10.service: Type=simple as User=tomcat, ExecStartPre=+ (as root despite User=),
    a shell script that execs java, ProtectSystem=strict with ReadWritePaths=,
    CacheDirectory=, SuccessExitStatus=143 (the JVM's exit on SIGTERM: inactive, not
    failed); HTTP on 8080."""
    require("tomcat10")
    d = owner()
    start(d, "tomcat10")
    d.wait_for(lambda: http(d, 8080).startswith("HTTP/1.1 200"), what="tomcat to answer")
    text = status_lists(d, "tomcat10", "java")
    assert re.search(
        r"Process: \d+ ExecStartPre=/usr/libexec/tomcat10/tomcat-update-policy.sh "
        r"\(code=exited, status=0/SUCCESS\)",
        text,
    ), text
    assert d.inside("stat", "-c", "%a %U", "/var/cache/tomcat10").stdout.split() == [
        "750",
        "tomcat",
    ]
    no_reload(d, "tomcat10")
    restart_new_main(d, "tomcat10")
    d.wait_for(lambda: http(d, 8080).startswith("HTTP/1.1 200"), what="tomcat to answer")
    stop_all_gone(d, "tomcat10")
    assert d.status("tomcat10")["result"] == "success"  # exit 143: SuccessExitStatus=
    assert re.search(
        r"Main PID: \d+ \(code=exited, status=143\)", d.cli("status", "tomcat10").stdout
    )


def test_ejabberd_with_epmd(owner: Callable[[], Iso]) -> None:
    """ejabberd.service: Type=notify NotifyAccess=all (READY=1 from the Erlang VM, a child of
    `sh -c ejabberdctl foreground`), WatchdogSec=30, Requires=epmd.service (activated through
    epmd.socket), ExecReload=/ExecStop= through ejabberdctl; `ejabberdctl stop` ends epmd too
    (KILL_REQ), and a restart starts it again."""
    require("ejabberd")
    d = owner()
    start(d, "ejabberd")
    assert d.state("epmd.service") == "active/running"
    assert d.py(_XMPP) == "stream"
    status_lists(d, "ejabberd", "beam.smp")
    reload_keeps_main(d, "ejabberd")
    assert "reload_config" in d.cli("status", "ejabberd").stdout
    assert d.py(_XMPP) == "stream"
    restart_new_main(d, "ejabberd")
    assert d.py(_XMPP) == "stream"
    stop_all_gone(d, "ejabberd", keep=("epmd",))
    assert d.status("ejabberd")["result"] == "success"
    assert d.cli("stop", "epmd.socket", "epmd.service").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="epmd to exit")


def test_mpd(owner: Callable[[], Iso]) -> None:
    """mpd.service: Type=notify (`--systemd`), `$MPDCONF` from an EnvironmentFile= that leaves
    it unset (no argument), LimitRTPRIO=/LimitMEMLOCK= (above the hard limits of a manager
    without CAP_SYS_RESOURCE, such as this test's: then set as close as allowed, as 252's
    setrlimit_closest() does), RestrictAddressFamilies=, RestrictNamespaces=; the MPD banner
    on 6600."""
    require("mpd")
    d = owner()
    start(d, "mpd")
    assert banner(d, 6600).startswith("OK MPD "), banner(d, 6600)
    status_lists(d, "mpd", "mpd")
    no_reload(d, "mpd")
    restart_new_main(d, "mpd")
    assert banner(d, 6600).startswith("OK MPD ")
    stop_all_gone(d, "mpd")


def test_deluged(owner: Callable[[], Iso]) -> None:
    """deluged.service: Type=simple as User=/Group=debian-deluged with UMask=007; its RPC port
    58846 speaks TLS (about 3 s after the start)."""
    require("deluged")
    d = owner()
    info = start(d, "deluged")
    assert d.uid_of(info["main_pid"]) == uid("debian-deluged")
    d.wait_for(lambda: d.py(TLS, "58846", "Deluge").startswith("TLS"), what="deluged's RPC")
    status_lists(d, "deluged", "deluged")
    umask = d.inside("grep", "Umask", f"/proc/{info['main_pid']}/status").stdout.split()
    assert umask == ["Umask:", "0007"], umask
    no_reload(d, "deluged")
    restart_new_main(d, "deluged")
    d.wait_for(lambda: d.py(TLS, "58846", "Deluge").startswith("TLS"), what="deluged's RPC")
    stop_all_gone(d, "deluged")


def test_i2pd(owner: Callable[[], Iso]) -> None:
    """i2pd.service: Type=forking with PIDFile= in its RuntimeDirectory= (mode 0700, as
    User=i2pd), `$DAEMON_OPTS` from Environment= split into words, LogsDirectory=,
    ExecReload= `kill -HUP $MAINPID` through sh -c; its web console on 7070."""
    require("i2pd")
    d = owner()
    info = start(d, "i2pd")
    assert d.read("/run/i2pd/i2pd.pid").strip() == str(info["main_pid"])
    assert d.inside("stat", "-c", "%a %U", "/run/i2pd").stdout.split() == ["700", "i2pd"]
    d.wait_for(lambda: http(d, 7070).startswith("HTTP/1.1 200"), what="i2pd's web console")
    status_lists(d, "i2pd", "i2pd")
    restart_new_main(d, "i2pd")
    d.wait_for(lambda: http(d, 7070).startswith("HTTP/1.1 200"), what="i2pd's web console")
    reload_keeps_main(d, "i2pd")
    assert http(d, 7070).startswith("HTTP/1.1 200")
    stop_all_gone(d, "i2pd")
    assert not d.exists("/run/i2pd")  # RuntimeDirectory= removed, the PID file with it


def test_openvswitch_switch(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """openvswitch-switch.service: a oneshot (RemainAfterExit=yes) that Requires=
    ovsdb-server.service and ovs-vswitchd.service (Type=forking via ovs-ctl, no PIDFile=:
    the main PID is guessed; AssertPathIsReadWrite= on ovsdb's socket; PartOf= the
    oneshot, so its restart and stop reach both). `ovs-vsctl` through the database socket.
    Its reload script runs Debian's systemctl, which cannot reach pidone (no D-Bus API).
    The database and system-id.conf live in directories bound over /etc/openvswitch and
    /var/lib/openvswitch in the namespace."""
    require("openvswitch-switch")
    d = owner()
    # ovs-ctl creates the database (/etc/openvswitch/conf.db, a link into /var/lib/openvswitch)
    # and system-id.conf at the first start: both directories are the test's own here
    etc, var = tmp_path / "etc-openvswitch", tmp_path / "var-openvswitch"
    shutil.copytree("/etc/openvswitch", etc, symlinks=True)
    var.mkdir()
    bind_over(d, etc, "/etc/openvswitch")
    bind_over(d, var, "/var/lib/openvswitch")
    r = d.cli("start", "openvswitch-switch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state("openvswitch-switch") == "active/exited"

    def version() -> str:
        r = d.inside("ovs-vsctl", "--timeout=10", "get", "Open_vSwitch", ".", "ovs_version")
        return r.stdout.strip() or r.stderr.strip()

    assert re.fullmatch(r'"[\d.]+"', version()), version()
    assert d.inside("ovs-vsctl", "--timeout=10", "add-br", "pidone0").returncode == 0
    for unit, comm in (("ovsdb-server", "ovsdb-server"), ("ovs-vswitchd", "ovs-vswitchd")):
        status_lists(d, unit, comm)
        assert d.read(f"/run/openvswitch/{comm}.pid").strip() == str(main_pid(d, unit))
    mains = {u: main_pid(d, u) for u in ("ovsdb-server", "ovs-vswitchd")}
    assert d.cli("restart", "openvswitch-switch").returncode == 0  # PartOf=: both restart
    for unit, old in mains.items():
        info = d.status(unit)
        assert (info["active"], info["sub"]) == ("active", "running"), info
        assert info["main_pid"] != old
    assert re.fullmatch(r'"[\d.]+"', version()), version()
    assert "pidone0" in d.inside("ovs-vsctl", "list-br").stdout  # the database kept it
    r = d.cli("stop", "openvswitch-switch")
    assert r.returncode == 0, r.stdout + r.stderr
    for unit in ("openvswitch-switch", "ovsdb-server", "ovs-vswitchd"):
        d.wait_state(f"{unit}.service", "inactive/dead")
    d.wait_for(lambda: not d.namespace_processes(), what="ovsdb-server and ovs-vswitchd to exit")
    assert not d.exists("/run/openvswitch/ovsdb-server.pid")


def test_haveged_sandboxed(owner: Callable[[], Iso]) -> None:
    """haveged.service: DefaultDependencies=no, CapabilityBoundingSet=CAP_SYS_ADMIN,
    SecureBits=noroot-locked, PrivateNetwork=, SystemCallFilter= (seccomp), Restart=always,
    SuccessExitStatus=137 143. It has no port: the probe is its own start-up report and
    the sandbox it runs in."""
    require("haveged")
    d = owner()
    info = start(d, "haveged")
    pid = info["main_pid"]
    d.wait_for(
        lambda: "haveged: ver: " in d.journal("-u", "haveged"), what="haveged's start-up report"
    )
    status_lists(d, "haveged", "haveged")
    proc = d.inside("cat", f"/proc/{pid}/status").stdout
    assert re.search(r"CapBnd:\s+0000000000200000\n", proc), proc  # CAP_SYS_ADMIN only
    assert re.search(r"Seccomp:\s+2\n", proc), proc
    net = d.inside("readlink", f"/proc/{pid}/ns/net", "/proc/self/ns/net").stdout.split()
    assert len(net) == 2, net
    assert net[0] != net[1], net  # PrivateNetwork=
    no_reload(d, "haveged")
    restart_new_main(d, "haveged")
    stop_all_gone(d, "haveged")
    assert d.status("haveged")["result"] == "success"  # not restarted: a stop was asked


def test_rngd(owner: Callable[[], Iso]) -> None:
    """rngd.service (rng-tools5): a bare ExecStart= (`rngd -f`): Type=simple by default; it
    holds /dev/random open to feed it. rng-tools5 and rng-tools-debian conflict."""
    require("rng-tools5")
    d = owner()
    info = start(d, "rngd")
    fds = d.inside("ls", "-l", f"/proc/{info['main_pid']}/fd").stdout
    assert "/dev/random" in fds, fds
    status_lists(d, "rngd", "rngd")
    no_reload(d, "rngd")
    restart_new_main(d, "rngd")
    stop_all_gone(d, "rngd")


def test_irqbalance_skipped_in_a_container(owner: Callable[[], Iso]) -> None:
    """irqbalance.service: ConditionVirtualization=!container (and ConditionCPUs=>1). In a
    container the start is skipped (exit 0, inactive), as 252 does."""
    require("irqbalance")
    virt = shutil.which("systemd-detect-virt")
    if virt is None:
        pytest.skip("systemd-detect-virt is not installed: cannot tell a container")
    if subprocess.run([virt, "--container"], capture_output=True, check=False).returncode != 0:
        pytest.skip("not a container: irqbalance would rewrite the host's IRQ affinities")
    d = owner()
    assert d.cli("start", "irqbalance").returncode == 0
    assert d.state("irqbalance") == "inactive/dead"
    text = d.cli("status", "irqbalance").stdout
    assert "ConditionVirtualization=!container was not met" in text, text
    assert not d.namespace_processes()


def test_xrdp_and_its_session_manager(owner: Callable[[], Iso]) -> None:
    """xrdp.service: Requires=/After= xrdp-sesman.service, which is BindsTo=xrdp.service but
    not ordered after it (so it starts first: unit_verify_deps() checks only BindsTo= with
    After=); both Type=forking with PIDFile= in the RuntimeDirectory=xrdp they share,
    xrdp as User=xrdp with PermissionsStartOnly=. An X.224 Connection Confirm on 3389.
    xrdp's stop removes /run/xrdp, so xrdp-sesman's ExecStop= (`--kill`, which reads the
    PID file) exits 1 and xrdp-sesman ends `failed`, SIGTERM having ended it: as on 252."""
    require("xrdp")
    d = owner()
    info = start(d, "xrdp")
    assert d.state("xrdp-sesman") == "active/running"
    # the forked daemon writes its PID file and listens after the parent has exited ("Can't
    # open PID file /run/xrdp/xrdp.pid (yet?) after start", as on 252)
    d.wait_for(lambda: d.py(_RDP) == "Connection Confirm", what="xrdp to answer")
    assert d.read("/run/xrdp/xrdp.pid").strip() == str(info["main_pid"])
    assert d.uid_of(info["main_pid"]) == uid("xrdp")
    status_lists(d, "xrdp", "xrdp")
    status_lists(d, "xrdp-sesman", "xrdp-sesman")
    sesman = main_pid(d, "xrdp-sesman")
    no_reload(d, "xrdp")
    restart_new_main(d, "xrdp")  # BindsTo=: xrdp-sesman restarts with it
    assert d.state("xrdp-sesman") == "active/running"
    assert main_pid(d, "xrdp-sesman") != sesman
    d.wait_for(lambda: d.py(_RDP) == "Connection Confirm", what="xrdp to answer")
    stop_all_gone(d, "xrdp")
    info = d.wait_state("xrdp-sesman.service", "failed/failed")
    assert info["result"] == "exit-code"
    journal = d.journal("-u", "xrdp-sesman", "-o", "cat")
    assert "xrdp-sesman.service: Control process exited, code=exited, status=1/FAILURE" in journal
    assert not d.exists("/run/xrdp")


def test_influxdb_through_its_alias(owner: Callable[[], Iso]) -> None:
    """influxdb.service, started as influxd.service (Alias=, linked in /etc/systemd/system by
    the package): User=influxdb, KillMode=control-group, LimitNOFILE=; HTTP /ping."""
    require("influxdb")
    d = owner()
    start(d, "influxd")
    assert d.state("influxdb") == "active/running"

    def ping() -> bool:
        return http(d, 8086, "/ping").startswith("HTTP/1.0 204 No Content")

    d.wait_for(ping, what="influxd to answer /ping")
    status_lists(d, "influxdb", "influxd")
    no_reload(d, "influxdb")
    restart_new_main(d, "influxdb")
    d.wait_for(ping, what="influxd to answer /ping")
    stop_all_gone(d, "influxd")
    assert d.state("influxdb") == "inactive/dead"


def test_icinga2(owner: Callable[[], Iso]) -> None:
    """icinga2.service: Type=notify NotifyAccess=all with PIDFile=, two EnvironmentFile=s and
    `${ICINGA2_ERROR_LOG}` in ExecStart=, ExecStartPre= prepare-dirs, ExecReload= safe-reload
    (a config check, then SIGHUP: icinga2 replaces its worker processes and keeps its PID),
    KillMode=mixed, UMask=0007."""
    require("icinga2")
    d = owner()
    info = start(d, "icinga2")
    assert d.read("/run/icinga2/icinga2.pid").strip() == str(info["main_pid"])
    text = status_lists(d, "icinga2", "icinga2")
    assert re.search(r"ExecStartPre=/usr/lib/icinga2/prepare-dirs .*status=0/SUCCESS", text), text
    # no feature of the packaged configuration listens (the API needs certificates first): the
    # probe is its READY=1 (Type=notify), its PID file and the checker's first check results
    d.wait_for(
        lambda: (
            "Checker" in d.inside("icinga2", "object", "list", "--type", "CheckerComponent").stdout
        ),
        what="icinga2's objects",
    )
    reload_keeps_main(d, "icinga2")
    assert d.read("/run/icinga2/icinga2.pid").strip() == str(info["main_pid"])
    restart_new_main(d, "icinga2")
    stop_all_gone(d, "icinga2")
    assert not d.exists("/run/icinga2/icinga2.pid")


def test_inspircd_exits_10_on_sigterm(owner: Callable[[], Iso]) -> None:
    """inspircd.service: Type=simple as User=irc, HUP reload; its server notice on 6667.
    inspircd exits 10 (EXIT_STATUS_SIGTERM) on SIGTERM, which the unit does not list in
    SuccessExitStatus=: a restart logs `Failed with result 'exit-code'` and starts it
    again, and a stop leaves the unit failed, as on 252."""
    require("inspircd")
    d = owner()
    start(d, "inspircd")
    assert banner(d, 6667).startswith(":irc.local NOTICE"), banner(d, 6667)
    status_lists(d, "inspircd", "inspircd")
    reload_keeps_main(d, "inspircd")
    assert irc(d, 6667).startswith("001 "), irc(d, 6667)
    restart_new_main(d, "inspircd")
    assert irc(d, 6667).startswith("001 ")
    r = d.cli("stop", "inspircd")
    assert r.returncode == 0, r.stdout + r.stderr
    info = d.status("inspircd")
    assert (info["active"], info["sub"], info["result"]) == ("failed", "failed", "exit-code")
    d.wait_for(lambda: not d.namespace_processes(), what="inspircd to exit")
    journal = d.journal("-u", "inspircd", "-o", "cat")
    assert journal.count("inspircd.service: Main process exited, code=exited, status=10/n/a") == 2
    assert journal.count("inspircd.service: Failed with result 'exit-code'.") == 2


def test_ngircd(owner: Callable[[], Iso]) -> None:
    """ngircd.service: Type=forking without PIDFile= (main PID guessed) as User=irc,
    CapabilityBoundingSet=, RuntimeDirectory= mode 750, HUP reload; IRC 001 welcome."""
    require("ngircd")
    d = owner()
    start(d, "ngircd")
    assert irc(d, 6667).startswith("001 "), irc(d, 6667)
    status_lists(d, "ngircd", "ngircd")
    assert d.inside("stat", "-c", "%a %U", "/run/ngircd").stdout.split() == ["750", "irc"]
    reload_keeps_main(d, "ngircd")
    assert irc(d, 6667).startswith("001 ")
    restart_new_main(d, "ngircd")
    assert irc(d, 6667).startswith("001 ")
    stop_all_gone(d, "ngircd")
    assert not d.exists("/run/ngircd")


def test_znc_with_a_configuration(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """znc.service: User=_znc, NonBlocking=yes, PrivateTmp=, ProtectSystem=full. A fresh
    install has no znc.conf (znc exits 1: "Restart ZNC with the --makeconf option", also
    under 252); the namespace gets a data directory with one over /var/lib/znc. An IRC
    client that gives no password gets 464."""
    require("znc")
    data = owned_dir(tmp_path / "znc", "_znc")
    configs = owned_dir(data / "configs", "_znc")
    (configs / "znc.conf").write_text(
        "Version = 1.8.2\n<Listener l>\n    Port = 6697\n    IPv4 = true\n    IPv6 = false\n"
        "    SSL = false\n</Listener>\n<User pidone>\n"
        "    Pass = plain#pidone-secret\n    Admin = true\n    Nick = pidone\n"
        "    AltNick = pidone_\n    Ident = pidone\n    RealName = pidone\n</User>\n"
    )
    shutil.chown(configs / "znc.conf", "_znc", "_znc")
    d = owner()
    bind_over(d, data, "/var/lib/znc")
    start(d, "znc")
    d.wait_for(lambda: irc(d, 6697).startswith("464 "), what="znc to answer")
    status_lists(d, "znc", "znc")
    no_reload(d, "znc")
    restart_new_main(d, "znc")
    d.wait_for(lambda: irc(d, 6697).startswith("464 "), what="znc to answer")
    stop_all_gone(d, "znc")


def test_danted_with_an_internal_address(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """danted.service: Type=simple with PIDFile= (removed after the stop), a multi-line
    ExecStartPre= `sh -c` with backslash continuations and `\\\\.` in it, PrivateTmp=,
    InaccessibleDirectories=, ReadOnlyDirectories= with a `-` path. The packaged
    danted.conf has no `internal:` (danted exits 1, also under 252): the namespace gets one
    listening on 127.0.0.1:1080. A SOCKS5 client offering no authentication gets it."""
    require("dante-server")
    conf = tmp_path / "danted.conf"
    conf.write_text(
        "logoutput: stderr\ninternal: 127.0.0.1 port = 1080\nexternal: lo\n"
        "socksmethod: none\nclientmethod: none\nuser.privileged: root\n"
        "user.unprivileged: nobody\nclient pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
        "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
    )
    conf.chmod(0o644)
    d = owner()
    bind_over(d, conf, "/etc/danted.conf")
    info = start(d, "danted")
    d.wait_for(lambda: d.py(_SOCKS5) == "SOCKS5 method 0", what="danted to answer")
    text = status_lists(d, "danted", "danted")
    assert re.search(r"ExecStartPre=/bin/sh -c .*status=0/SUCCESS", text), text
    assert d.exists("/run/danted.pid")
    assert info["main_pid"]
    no_reload(d, "danted")
    restart_new_main(d, "danted")
    d.wait_for(lambda: d.py(_SOCKS5) == "SOCKS5 method 0", what="danted to answer")
    stop_all_gone(d, "danted")
    assert not d.exists("/run/danted.pid")


def test_apt_cacher_ng(owner: Callable[[], Iso]) -> None:
    """apt-cacher-ng.service: Type=notify as User=apt-cacher-ng, RequiresMountsFor=, a `"`
    quoted argument, /run/apt-cacher-ng from its tmpfiles.d line; its report page on 3142."""
    require("apt-cacher-ng")
    d = owner()
    info = start(d, "apt-cacher-ng")
    assert d.uid_of(info["main_pid"]) == uid("apt-cacher-ng")
    assert http(d, 3142, "/acng-report.html").startswith("HTTP/1.1 200"), http(d, 3142)
    status_lists(d, "apt-cacher-ng", "apt-cacher-ng")
    no_reload(d, "apt-cacher-ng")
    restart_new_main(d, "apt-cacher-ng")
    assert http(d, 3142, "/acng-report.html").startswith("HTTP/1.1 200")
    stop_all_gone(d, "apt-cacher-ng")


def test_hitch_with_a_configuration(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """hitch.service: ConditionPathExists=/etc/hitch/hitch.conf (none is packaged: skipped,
    as by 252), then with a directory bound over /etc/hitch in the namespace: hitch.conf
    and a self-signed pair; a TLS handshake on 8443, HUP reload, PrivateDevices=."""
    require("hitch")
    d = owner()
    if not os.path.exists("/etc/hitch/hitch.conf"):
        assert d.cli("start", "hitch").returncode == 0
        assert d.state("hitch") == "inactive/dead"
        assert (
            "ConditionPathExists=/etc/hitch/hitch.conf was not met"
            in d.cli("status", "hitch").stdout
        )
    etc = tmp_path / "hitch"
    etc.mkdir()
    cert, key = self_signed(etc, "pidone-hitch")
    (etc / "hitch.pem").write_text(key.read_text() + cert.read_text())
    (etc / "hitch.conf").write_text(
        'frontend = "[127.0.0.1]:8443"\nbackend = "[127.0.0.1]:8080"\n'
        'pem-file = "/etc/hitch/hitch.pem"\nworkers = 1\n'
    )
    bind_over(d, etc, "/etc/hitch")
    start(d, "hitch")
    d.wait_for(lambda: d.py(TLS, "8443", "pidone-hitch").startswith("TLS"), what="hitch")
    status_lists(d, "hitch", "hitch")
    reload_keeps_main(d, "hitch")
    assert d.py(TLS, "8443", "pidone-hitch").startswith("TLS")
    restart_new_main(d, "hitch")
    d.wait_for(lambda: d.py(TLS, "8443", "pidone-hitch").startswith("TLS"), what="hitch")
    stop_all_gone(d, "hitch")


def test_uptimed(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """uptimed.service: a bare Type=simple as User=daemon, /run/uptimed from its tmpfiles.d
    line holding the PID file; `uprecords` reads the records it writes (to a directory
    bound over /var/spool/uptimed in the namespace)."""
    require("uptimed")
    spool = owned_dir(tmp_path / "spool", "daemon", 0o755)
    d = owner()
    bind_over(d, spool, "/var/spool/uptimed")
    info = start(d, "uptimed")
    assert d.uid_of(info["main_pid"]) == uid("daemon")
    d.wait_for(
        lambda: d.read("/run/uptimed/uptimed.pid").strip() == str(info["main_pid"]),
        what="uptimed's PID file",
    )
    d.wait_for(lambda: (spool / "records").exists(), what="uptimed's records")
    records = d.inside("uprecords", "-a").stdout
    assert "-> " in records, records  # the current boot, marked
    status_lists(d, "uptimed", "uptimed")
    no_reload(d, "uptimed")
    restart_new_main(d, "uptimed")
    stop_all_gone(d, "uptimed")
