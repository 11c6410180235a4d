"""More packaged Debian services (issue #4's held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run: `iso` of test_debian_system_services), with `--tmpfiles=yes` (a container's init
that owns its /run): start, a protocol probe on loopback from inside, `pidone status`
(Main PID, the unit's processes in its CGroup tree), reload where the unit has
ExecReload=, restart (a new main process), stop, and nothing of the unit left.

What the units exercise, beyond the earlier files:

- privoxy: Type=forking, PIDFile= named through `$PIDFILE` of Environment=, SuccessExitStatus=15
  (privoxy exits 15 on SIGTERM: inactive, not failed), ExecStopPost= rm of the PID file.
- tor: tor.service is a oneshot; tor@default.service comes from tor's generator (a `.wants`
  link) with PartOf= and ReloadPropagatedFrom=tor.service, Type=notify NotifyAccess=all,
  KillSignal=SIGINT, PermissionsStartOnly=yes, ReadOnlyDirectories=/ with read-write holes.
- zabbix-agent: Type=simple as User=zabbix, a main process with five workers.
- minidlna: User=, RuntimeDirectory= holding its PIDFile=, LogsDirectory=, `$DAEMON_OPTS`.
- transmission-daemon: Type=notify with STATUS=, `ExecStop=/bin/kill -s STOP $MAINPID`
  (then SIGTERM and SIGCONT), HUP reload.
- prosody: Type=simple (a Lua interpreter as main process), RuntimeDirectory=, PIDFile=.
- munin-node: Type=notify, Restart=always, ExecStartPre= install -d, PrivateTmp=,
  ProtectSystem=full.
- nagios-nrpe-server: User=, PrivateTmp=, ExecStopPost= removing its PID file; an NRPE
  query over TLS with check_nrpe.
- supervisor: KillMode=process, ExecStop= and ExecReload= through supervisorctl; the reload
  re-executes supervisord in place.
- openbsd-inetd: Type=notify with WatchdogSec=5, KillMode=process; an internal `daytime`
  service from an inetd.conf bound over the packaged one inside the namespace.
- lldpd: Type=notify NotifyAccess=main, RequiresMountsFor=/run/lldpd, privilege-separated.
- gpsd: gpsd.socket (a Unix socket and two TCP ones, BindIPv6Only=yes) activates the
  Type=forking gpsd.service on the first connection.
- knot-resolver: kresd@1.service, Type=notify with WatchdogSec=, AmbientCapabilities= on
  port 53 as its user, Wants= kres-cache-gc.service.
- rabbitmq-server: Type=notify NotifyAccess=all as User=, StandardOutput=append:, ExecStop=
  rabbitmqctl; epmd.socket activates epmd.service, which outlives rabbitmq (as in 252).
- icecast2, monit, tftpd-hpa: LSB scripts through systemd-sysv-generator.
- nut-server: upsd with a configuration bound over /etc/nut inside the namespace, and the
  packaged one (MODE=none: upsd exits 0, as under 252); ExecReload= with `-P $MAINPID`.
- smartmontools: ConditionVirtualization=no, skipped in a virtual machine as by 252.

Not here: bird2 (`bird -f` exits 1 with only `lo`: no router id to take; also by hand and
under 252), coturn (exits 255: it needs a non-loopback address; the namespace has only
`lo`).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.conftest import require
from tests.acceptance.kit import (
    ask,
    iso,
    main_pid,
    owner,
    uid,
)
from tests.acceptance.test_debian_system_services import (
    Iso,
    banner,
    dns_localhost,
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

# A TFTP read request (RFC 1350) for argv[1] to 127.0.0.1:69; prints the reply (hex).
_TFTP = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(5)\n"
    "try:\n"
    "    s.sendto(b'\\x00\\x01' + sys.argv[1].encode() + b'\\x00octet\\x00', ('127.0.0.1', 69))\n"
    "    print(s.recv(600).hex())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def http_status(d: Iso, port: int, request: bytes) -> str:
    """The status code and reason of an HTTP exchange with 127.0.0.1:PORT ("" if none)."""
    line = ask(d, port, request).split(b"\r\n", 1)[0].decode("latin-1")
    return line.partition(" ")[2] if line.startswith("HTTP/1.") else line


def pids_named(d: Iso, comm: str) -> list[int]:
    return sorted(pid for pid, _state, name in d.namespace_processes() if name == comm)


# --- the services ---------------------------------------------------------------------------------


def test_privoxy_forking_with_success_exit_status_15(owner: Callable[[], Iso]) -> None:
    """privoxy.service: Type=forking, PIDFile=/run/privoxy.pid also handed to privoxy as
    `--pidfile $PIDFILE`; on SIGTERM privoxy exits 15, a success by SuccessExitStatus=15;
    ExecStopPost=/bin/rm -f $PIDFILE."""
    require("privoxy")
    d = owner()
    info = start(d, "privoxy")
    # privoxy's own pages (p.p) are served without any upstream
    assert http_status(d, 8118, b"GET http://p.p/ HTTP/1.0\r\n\r\n") == "200 OK"
    status_lists(d, "privoxy", "privoxy")
    assert d.read("/run/privoxy.pid").strip() == str(info["main_pid"])
    no_reload(d, "privoxy")
    restart_new_main(d, "privoxy")
    assert http_status(d, 8118, b"GET http://p.p/ HTTP/1.0\r\n\r\n") == "200 OK"
    stop_all_gone(d, "privoxy")
    after = d.status("privoxy.service")
    assert (after["active"], after["result"]) == ("inactive", "success")
    assert "Main PID: " in (text := d.cli("status", "privoxy").stdout), text
    assert "(code=exited, status=15)" in text, text
    assert not d.exists("/run/privoxy.pid")


def test_tor_instance_from_its_generator(owner: Callable[[], Iso]) -> None:
    """`start tor`: the oneshot tor.service and, through the `.wants` link of tor's
    generator, tor@default.service (Type=notify, PartOf=/ReloadPropagatedFrom=tor.service,
    KillSignal=SIGINT, PIDFile=/run/tor/tor.pid, ReadOnlyDirectories=/); a SOCKS5 greeting
    on 9050."""
    require("tor")
    d = owner()
    r = d.cli("start", "tor")
    assert r.returncode == 0, r.stdout + r.stderr + d.cli("status", "tor@default").stdout
    assert d.state("tor.service") == "active/exited"
    d.wait_state("tor@default.service", "active/running")
    socks = b"\x05\x01\x00"  # version 5, one method: no authentication (RFC 1928)
    assert ask(d, 9050, socks) == b"\x05\x00"
    status_lists(d, "tor@default", "tor")
    main = main_pid(d, "tor@default")
    assert d.read("/run/tor/tor.pid").strip() == str(main)
    assert d.inside("stat", "-c", "%a %U", "/run/tor").stdout.split() == ["2755", "debian-tor"]
    assert d.cli("reload", "tor").returncode == 0  # propagated: HUP to tor@default's tor
    d.wait_state("tor@default.service", "active/running")
    assert main_pid(d, "tor@default") == main
    assert "Reloaded tor@default.service" in d.journal("-u", "tor@default")
    assert d.cli("restart", "tor").returncode == 0  # PartOf=: tor@default restarts too
    info = d.wait_state("tor@default.service", "active/running")
    assert info["main_pid"] != main
    assert ask(d, 9050, socks) == b"\x05\x00"
    assert d.cli("stop", "tor").returncode == 0
    d.wait_state("tor@default.service", "inactive/dead")  # SIGINT: tor exits cleanly
    d.wait_for(lambda: not d.namespace_processes(), what="tor to exit")
    assert not d.exists("/run/tor/tor.pid")


def test_zabbix_agent_answers_agent_ping(owner: Callable[[], Iso]) -> None:
    """zabbix-agent.service: Type=simple as User=zabbix; the main process and its
    collector, listener and active-check workers in the CGroup tree."""
    require("zabbix-agent")
    d = owner()
    info = start(d, "zabbix-agent")
    assert d.uid_of(info["main_pid"]) == uid("zabbix")
    key = b"agent.ping"  # Zabbix protocol: ZBXD, flags 1, little-endian length, data
    reply = ask(d, 10050, b"ZBXD\x01" + struct.pack("<Q", len(key)) + key)
    assert reply[:5] == b"ZBXD\x01", reply
    assert reply[13:] == b"1", reply
    text = status_lists(d, "zabbix-agent", "zabbix_agentd")
    assert len(re.findall(r"zabbix_agentd: listener #\d", text)) == 3, text
    no_reload(d, "zabbix-agent")
    restart_new_main(d, "zabbix-agent")
    stop_all_gone(d, "zabbix-agent")


def test_minidlna_pid_file_in_its_runtime_directory(owner: Callable[[], Iso]) -> None:
    """minidlna.service: User=minidlna, RuntimeDirectory=minidlna holding the PIDFile=,
    LogsDirectory=, `-S $DAEMON_OPTS` from Environment= (systemd mode: foreground)."""
    require("minidlna")
    d = owner()
    info = start(d, "minidlna")
    assert d.uid_of(info["main_pid"]) == uid("minidlna")
    request = b"GET /rootDesc.xml HTTP/1.0\r\n\r\n"
    d.wait_for(lambda: http_status(d, 8200, request) == "200 OK", what="minidlna's HTTP")
    status_lists(d, "minidlna", "minidlnad")
    assert d.read("/run/minidlna/minidlna.pid").strip() == str(info["main_pid"])
    assert d.inside("stat", "-c", "%U", "/run/minidlna").stdout.strip() == "minidlna"
    no_reload(d, "minidlna")
    restart_new_main(d, "minidlna")
    d.wait_for(lambda: http_status(d, 8200, request) == "200 OK", what="minidlna's HTTP")
    stop_all_gone(d, "minidlna")
    assert not d.exists("/run/minidlna")  # RuntimeDirectory= removed, its PID file with it


def test_transmission_daemon_stop_by_sigstop_then_sigterm(owner: Callable[[], Iso]) -> None:
    """transmission-daemon.service: Type=notify with STATUS=, ExecReload= HUP, and
    `ExecStop=/bin/kill -s STOP $MAINPID`: the stopped main process gets SIGTERM then
    SIGCONT from the manager (KillMode=control-group) and exits 0."""
    require("transmission-daemon")
    d = owner()
    start(d, "transmission-daemon")
    # its RPC answers, asking for the credentials of settings.json
    rpc = b"GET /transmission/rpc HTTP/1.0\r\n\r\n"
    assert http_status(d, 9091, rpc).startswith("401 "), http_status(d, 9091, rpc)
    status_lists(d, "transmission-daemon", "transmission-da")
    d.wait_for(  # its STATUS= comes after READY=1
        lambda: 'Status: "' in d.cli("status", "transmission-daemon").stdout,
        what="transmission's STATUS=",
    )
    reload_keeps_main(d, "transmission-daemon")
    restart_new_main(d, "transmission-daemon")
    assert http_status(d, 9091, rpc).startswith("401 ")
    stop_all_gone(d, "transmission-daemon")
    assert d.status("transmission-daemon.service")["result"] == "success"
    assert "Closing transmission session... done." in d.journal("-u", "transmission-daemon")


def test_prosody_xmpp_stream(owner: Callable[[], Iso]) -> None:
    """prosody.service: Type=simple (`lua5.4 /usr/bin/prosody -F` as main process), User=,
    RuntimeDirectory= with its PIDFile=, HUP reload."""
    require("prosody")
    d = owner()
    info = start(d, "prosody")
    assert d.uid_of(info["main_pid"]) == uid("prosody")
    hello = (
        b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    )
    d.wait_for(lambda: b"<stream:stream" in ask(d, 5222, hello), what="prosody's stream")
    status_lists(d, "prosody", "lua5.4")
    d.wait_for(lambda: d.exists("/run/prosody/prosody.pid"), what="/run/prosody/prosody.pid")
    assert d.read("/run/prosody/prosody.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "prosody")
    restart_new_main(d, "prosody")
    d.wait_for(lambda: b"<stream:stream" in ask(d, 5222, hello), what="prosody's stream")
    stop_all_gone(d, "prosody")
    assert not d.exists("/run/prosody")


def test_munin_node_banner(owner: Callable[[], Iso]) -> None:
    """munin-node.service: Type=notify, Restart=always, ExecStartPre=/usr/bin/install -d
    /run/munin, PIDFile=, PrivateTmp=, ProtectSystem=full."""
    require("munin-node")
    d = owner()
    info = start(d, "munin-node")
    assert banner(d, 4949).startswith("# munin node at "), banner(d, 4949)
    text = status_lists(d, "munin-node", "munin-node")
    assert re.search(r"Process: \d+ ExecStartPre=/usr/bin/install -o munin -g munin", text)
    assert d.read("/run/munin/munin-node.pid").strip() == str(info["main_pid"])
    no_reload(d, "munin-node")
    restart_new_main(d, "munin-node")  # a stop, not a failure: Restart=always stays quiet
    assert banner(d, 4949).startswith("# munin node at ")
    stop_all_gone(d, "munin-node")
    assert d.state("munin-node") == "inactive/dead"
    assert not d.exists("/run/munin/munin-node.pid")


def test_nagios_nrpe_server_answers_check_nrpe(owner: Callable[[], Iso]) -> None:
    """nagios-nrpe-server.service: Type=simple as User=nagios, PrivateTmp=, HUP reload,
    ExecStopPost=/bin/rm -f /run/nagios/nrpe.pid; check_nrpe (TLS) asks its version."""
    require("nagios-nrpe-server", "nagios-nrpe-plugin")
    d = owner()
    info = start(d, "nagios-nrpe-server")
    assert d.uid_of(info["main_pid"]) == uid("nagios")
    check = "/usr/lib/nagios/plugins/check_nrpe"
    version = d.inside(check, "-H", "127.0.0.1")
    assert version.stdout.startswith("NRPE v"), version.stdout + version.stderr
    status_lists(d, "nagios-nrpe-server", "nrpe")
    assert d.read("/run/nagios/nrpe.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "nagios-nrpe-server")
    d.wait_for(
        lambda: d.inside(check, "-H", "127.0.0.1").stdout.startswith("NRPE v"),
        what="nrpe to answer after its reload",
    )
    restart_new_main(d, "nagios-nrpe-server")
    assert d.inside(check, "-H", "127.0.0.1").stdout.startswith("NRPE v")
    stop_all_gone(d, "nagios-nrpe-server")
    assert not d.exists("/run/nagios/nrpe.pid")


def test_supervisor_reload_and_stop_through_supervisorctl(owner: Callable[[], Iso]) -> None:
    """supervisor.service: ExecReload= `supervisorctl reload` (supervisord re-executes in
    place: the same main PID), ExecStop= `supervisorctl shutdown`, KillMode=process."""
    require("supervisor")
    d = owner()
    info = start(d, "supervisor")

    def answers(pid: int) -> bool:
        return d.inside("supervisorctl", "pid").stdout.strip() == str(pid)

    d.wait_for(lambda: answers(info["main_pid"]), what="supervisord on its socket")
    status_lists(d, "supervisor", "supervisord")
    main = reload_keeps_main(d, "supervisor")
    d.wait_for(lambda: answers(main), what="supervisord after its reload")
    restart_new_main(d, "supervisor")
    d.wait_for(lambda: answers(main_pid(d, "supervisor")), what="the new supervisord")
    stop_all_gone(d, "supervisor")
    assert re.search(
        r"Process: \d+ ExecStop=/usr/bin/supervisorctl \$OPTIONS shutdown \(code=exited, "
        r"status=0/SUCCESS\)",
        d.cli("status", "supervisor").stdout,
    )


def test_inetd_watchdog_and_an_internal_service(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """inetd.service (openbsd-inetd): Type=notify with WatchdogSec=5, HUP reload,
    KillMode=process, ConditionPathExists=/etc/inetd.conf. The packaged inetd.conf enables
    nothing: one with inetd's internal `daytime` service is bound over it inside the
    daemon's mount namespace (the host's file is untouched)."""
    require("openbsd-inetd")
    d = owner()
    conf = tmp_path / "inetd.conf"
    conf.write_text("daytime\tstream\ttcp\tnowait\troot\tinternal\n")
    bound = d.inside("mount", "--bind", str(conf), "/etc/inetd.conf")
    assert bound.returncode == 0, bound.stderr
    start(d, "inetd")
    assert re.search(r"\d\d:\d\d:\d\d", banner(d, 13)), banner(d, 13)  # RFC 867
    status_lists(d, "inetd", "inetd")
    assert d.cli("show", "-p", "WatchdogUSec", "--value", "inetd").stdout.strip() == "5s"
    reload_keeps_main(d, "inetd")
    assert re.search(r"\d\d:\d\d:\d\d", banner(d, 13))
    restart_new_main(d, "inetd")
    assert re.search(r"\d\d:\d\d:\d\d", banner(d, 13))
    stop_all_gone(d, "inetd")
    assert d.status("inetd.service")["result"] == "success"


def test_lldpd_privilege_separated(owner: Callable[[], Iso]) -> None:
    """lldpd.service: Type=notify NotifyAccess=main (the monitor is the main process, its
    unprivileged child sends nothing), RequiresMountsFor=/run/lldpd; lldpcli asks the
    daemon through /run/lldpd.socket."""
    require("lldpd")
    d = owner()
    start(d, "lldpd")
    chassis = d.inside("lldpcli", "show", "chassis")
    assert "Chassis:" in chassis.stdout, chassis.stdout + chassis.stderr
    text = status_lists(d, "lldpd", "lldpd")
    assert len(pids_named(d, "lldpd")) == 2, text  # monitor and its child
    no_reload(d, "lldpd")
    restart_new_main(d, "lldpd")
    assert "Chassis:" in d.inside("lldpcli", "show", "chassis").stdout
    stop_all_gone(d, "lldpd")


def test_gpsd_socket_activated(owner: Callable[[], Iso]) -> None:
    """gpsd.socket (ListenStream= /run/gpsd.sock, [::1]:2947 with BindIPv6Only=yes and
    127.0.0.1:2947) starts the Type=forking gpsd.service, which takes the sockets through
    LISTEN_FDS; gpsd greets a client with its VERSION object."""
    require("gpsd")
    d = owner()
    assert d.cli("start", "gpsd.socket").returncode == 0
    assert d.state("gpsd.service") == "inactive/dead"
    assert d.inside("stat", "-c", "%a", "/run/gpsd.sock").stdout.strip() == "600"
    assert b'"class":"VERSION"' in ask(d, 2947, b'?WATCH={"enable":false};\n')
    d.wait_state("gpsd.service", "active/running")
    text = status_lists(d, "gpsd", "gpsd")
    assert "TriggeredBy: ● gpsd.socket" in text, text
    no_reload(d, "gpsd")
    restart_new_main(d, "gpsd")
    assert b'"class":"VERSION"' in ask(d, 2947, b'?WATCH={"enable":false};\n')
    r = d.cli("stop", "gpsd")
    assert "can still be activated by" in r.stderr, r.stderr
    d.wait_for(lambda: not d.namespace_processes(), what="gpsd to exit")
    assert d.state("gpsd.socket") == "active/listening"
    assert d.cli("stop", "gpsd.socket").returncode == 0
    assert d.state("gpsd.socket") == "inactive/dead"


def test_kresd_instance_on_port_53(owner: Callable[[], Iso]) -> None:
    """kresd@1.service: Type=notify with WatchdogSec=10s, User=knot-resolver with
    AmbientCapabilities=CAP_NET_BIND_SERVICE (port 53), Wants=/Before=
    kres-cache-gc.service, which runs on when kresd@1 stops."""
    require("knot-resolver")
    d = owner()
    info = start(d, "kresd@1")
    assert d.uid_of(info["main_pid"]) == uid("knot-resolver")
    assert d.state("kres-cache-gc.service") == "active/running"
    assert dns_localhost(d) == "127.0.0.1"  # answered locally (RFC 6761)
    status_lists(d, "kresd@1", "kresd")
    no_reload(d, "kresd@1")
    restart_new_main(d, "kresd@1")
    assert dns_localhost(d) == "127.0.0.1"
    stop_all_gone(d, "kresd@1", keep=("kres-cache-gc",))
    assert d.cli("stop", "kres-cache-gc").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="kres-cache-gc to exit")


def test_rabbitmq_server_with_epmd_socket(owner: Callable[[], Iso]) -> None:
    """rabbitmq-server.service: Type=notify NotifyAccess=all (the Erlang VM's notify comes
    from a helper), User=rabbitmq, StandardOutput=append:, ExecStop=rabbitmqctl stop;
    Wants=epmd.socket: the VM's registration starts epmd.service, which is not
    rabbitmq's and keeps running after it stops (as under 252)."""
    require("rabbitmq-server")
    d = owner()
    info = start(d, "rabbitmq-server")
    assert d.uid_of(info["main_pid"]) == uid("rabbitmq")
    # AMQP 0-9-1 protocol header; the broker answers with a Connection.Start method frame
    assert ask(d, 5672, b"AMQP\x00\x00\x09\x01")[:3] == b"\x01\x00\x00"
    status_lists(d, "rabbitmq-server", "beam.smp")
    assert d.state("epmd.service") == "active/running"
    no_reload(d, "rabbitmq-server")
    restart_new_main(d, "rabbitmq-server")
    assert ask(d, 5672, b"AMQP\x00\x00\x09\x01")[:3] == b"\x01\x00\x00"
    stop_all_gone(d, "rabbitmq-server", keep=("epmd",))
    assert d.status("rabbitmq-server.service")["result"] == "success"
    assert d.cli("stop", "epmd.socket", "epmd.service").returncode == 0
    d.wait_for(lambda: not d.namespace_processes(), what="epmd to exit")


def _lsb_sequence(d: Iso, unit: str, comm: str, probe: Callable[[], bool]) -> None:
    """An LSB script's unit (Type=forking, GuessMainPID=no, RemainAfterExit=yes): no Main
    PID, its daemon in the CGroup tree; restart gives a new daemon process."""
    r = d.cli("start", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    assert d.state(unit) == "active/running"
    d.wait_for(probe, what=f"{unit} to answer")
    text = status_lists(d, unit, comm, main=False)
    assert f"Loaded: loaded (/etc/init.d/{unit}; generated)" in text, text
    before = pids_named(d, comm)
    assert d.cli("restart", unit).returncode == 0
    d.wait_for(lambda: pids_named(d, comm) and pids_named(d, comm) != before, what="a new one")
    d.wait_for(probe, what=f"{unit} to answer after its restart")


def test_icecast2_lsb(owner: Callable[[], Iso]) -> None:
    """icecast2: /etc/init.d/icecast2 only (disabled: a K link), its reload a SIGHUP."""
    require("icecast2")
    d = owner()
    status = b"GET /status-json.xsl HTTP/1.0\r\n\r\n"

    def answers() -> bool:
        return http_status(d, 8000, status) == "200 OK"

    _lsb_sequence(d, "icecast2", "icecast2", answers)
    pid = pids_named(d, "icecast2")
    assert d.cli("reload", "icecast2").returncode == 0
    assert pids_named(d, "icecast2") == pid
    assert answers()
    assert d.cli("stop", "icecast2").returncode == 0
    assert d.state("icecast2") == "inactive/dead"
    d.wait_for(lambda: not d.namespace_processes(), what="icecast2 to exit")


def test_monit_lsb(owner: Callable[[], Iso]) -> None:
    """monit: /etc/init.d/monit (`Should-Start: $all`, so After=all.target), PID file
    /run/monit.pid; reload through start-stop-daemon --signal HUP."""
    require("monit")
    d = owner()

    def answers() -> bool:
        pid = d.read("/run/monit.pid").strip()
        return bool(pid) and [int(pid)] == pids_named(d, "monit")

    _lsb_sequence(d, "monit", "monit", answers)
    pid = pids_named(d, "monit")
    assert d.cli("reload", "monit").returncode == 0
    assert pids_named(d, "monit") == pid
    assert d.cli("stop", "monit").returncode == 0
    assert d.state("monit") == "inactive/dead"
    d.wait_for(lambda: not d.namespace_processes(), what="monit to exit")
    assert not d.exists("/run/monit.pid")


def test_tftpd_hpa_lsb(owner: Callable[[], Iso]) -> None:
    """tftpd-hpa: /etc/init.d/tftpd-hpa, KillMode=process from the generator: its stop
    script signals in.tftpd without waiting, so 252 may log "Unit process N (in.tftpd)
    remains running after unit stopped." (before "Stopped"); it exits right after."""
    require("tftpd-hpa")
    d = owner()

    def answers() -> bool:
        # an ERROR packet (opcode 5), code 1: file not found (RFC 1350)
        return d.py(_TFTP, "pidone-no-such-file").startswith("00050001")

    _lsb_sequence(d, "tftpd-hpa", "in.tftpd", answers)
    no_reload(d, "tftpd-hpa")
    assert d.cli("stop", "tftpd-hpa").returncode == 0
    assert d.state("tftpd-hpa") == "inactive/dead"
    d.wait_for(lambda: not d.namespace_processes(), what="in.tftpd to exit")
    journal = d.journal("-u", "tftpd-hpa")
    if "remains running" in journal:
        assert journal.rindex("remains running") < journal.rindex("Stopped tftpd-hpa")


_NUT = {
    "nut.conf": "MODE=standalone\n",
    "ups.conf": "[pidone]\n\tdriver = dummy-ups\n\tport = pidone.dev\n",
    "upsd.conf": "LISTEN 127.0.0.1 3493\n",
    "upsd.users": "",
}


def test_nut_server_configured_in_the_namespace(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """nut-server.service: upsd -F (Type=simple) with `ExecReload=/sbin/upsd -c reload -P
    $MAINPID`. The packaged nut.conf says MODE=none and upsd exits 0 at once (inactive, as
    under 252); a configuration bound over /etc/nut inside the namespace gives it one UPS
    (its driver is not running: upsd answers all the same)."""
    require("nut-server")
    d = owner()
    r = d.cli("start", "nut-server")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state("nut-server.service", "inactive/dead")
    assert "upsd disabled" in d.journal("-u", "nut-server")
    r = d.cli("reload", "nut-server")
    assert (r.returncode, r.stderr) == (1, "nut-server.service is not active, cannot reload.\n")
    assert "Unit cannot be reloaded because it is inactive." in d.journal("-u", "nut-server")

    etc = tmp_path / "nut"
    etc.mkdir()
    for name, text in _NUT.items():
        (etc / name).write_text(text)
    shutil.chown(etc / "upsd.users", group="nut")
    (etc / "upsd.users").chmod(0o640)
    etc.chmod(0o755)
    bound = d.inside("mount", "--bind", str(etc), "/etc/nut")
    assert bound.returncode == 0, bound.stderr
    info = start(d, "nut-server")
    version = banner_after(d, 3493, b"VER\n")
    assert version.startswith("Network UPS Tools upsd"), version
    assert banner_after(d, 3493, b"LIST UPS\n") == "BEGIN LIST UPS"
    status_lists(d, "nut-server", "upsd")
    reload_keeps_main(d, "nut-server")
    assert d.uid_of(info["main_pid"]) == uid("nut")
    restart_new_main(d, "nut-server")
    assert banner_after(d, 3493, b"VER\n").startswith("Network UPS Tools upsd")
    stop_all_gone(d, "nut-server")


def banner_after(d: Iso, port: int, line: bytes) -> str:
    """The first line a server on 127.0.0.1:PORT answers to `line`."""
    return ask(d, port, line).split(b"\n", 1)[0].decode("latin-1").strip()


def test_proftpd_daemon_then_its_accept_socket(owner: Callable[[], Iso]) -> None:
    """proftpd.service: Type=forking with PIDFile=, `--configtest` as ExecStartPre= with
    `$CONFIG_FILE $OPTIONS` from Environment= (OPTIONS empty: no argument), HUP reload.
    proftpd.socket (ListenStream=21, Accept=yes, Conflicts=proftpd.service) then starts
    one proftpd@.service (`in.proftpd` on the connection) per client, named by its
    IPv4 peer although the listener is `[::]:21`. proftpd-core and
    vsftpd conflict (both are ftp-server): installing one removes the other."""
    require("proftpd-core")
    d = owner()
    info = start(d, "proftpd")
    assert banner(d, 21).startswith("220 ProFTPD"), banner(d, 21)
    status_lists(d, "proftpd", "proftpd")
    assert d.read("/run/proftpd.pid").strip() == str(info["main_pid"])
    reload_keeps_main(d, "proftpd")
    assert banner(d, 21).startswith("220 ProFTPD")
    restart_new_main(d, "proftpd")
    assert banner(d, 21).startswith("220 ProFTPD")
    # Conflicts=: the daemon is stopped. Nothing orders the two jobs, so the socket's
    # bind races the daemon's exit: 252 on the oracle fails it (EADDRINUSE, Result:
    # resources) and a second start listens.
    first = d.cli("start", "proftpd.socket")
    d.wait_state("proftpd.service", "inactive/dead")
    d.wait_for(lambda: not d.namespace_processes(), what="the proftpd daemon to exit")
    assert not d.exists("/run/proftpd.pid")
    if first.returncode != 0:
        assert d.status("proftpd.socket")["result"] == "resources"
        assert d.cli("start", "proftpd.socket").returncode == 0
    socket_status = d.cli("status", "proftpd.socket").stdout
    assert "Triggers:" not in socket_status, socket_status  # Accept=yes: instances only
    # in.proftpd on the connection ends at once without a word: the packaged proftpd.conf
    # says `ServerType standalone` (the same under 252, on the oracle)
    assert banner(d, 21) == ""
    d.wait_for(lambda: not d.namespace_processes(), what="the connection's proftpd to exit")
    assert re.search(r"Accepted: 1; Connected: 0;", d.cli("status", "proftpd.socket").stdout)
    journal = d.journal()
    instance = re.search(
        r"Started (proftpd@0-127\.0\.0\.1:21-127\.0\.0\.1:(\d+)\.service) - ProFTPD FTP "
        r"Server \(127\.0\.0\.1:\2\)\.",
        journal,
    )
    assert instance, journal
    assert f"{instance[1]}: Deactivated successfully." in journal
    assert d.cli("stop", "proftpd.socket").returncode == 0
    assert d.state("proftpd.socket") == "inactive/dead"


def test_smartmontools_skipped_in_a_virtual_machine(owner: Callable[[], Iso]) -> None:
    """smartmontools.service: ConditionVirtualization=no. In a virtual machine the start
    is skipped (exit 0, inactive), with the condition in `status`, as 252 does."""
    require("smartmontools")
    virt = shutil.which("systemd-detect-virt")
    if virt is None:
        pytest.skip("systemd-detect-virt is not installed: cannot tell a VM from metal")
    kind = subprocess.run([virt, "--vm"], capture_output=True, text=True, check=False)
    if kind.returncode != 0:
        pytest.skip("not a virtual machine: smartd would monitor real disks")
    d = owner()
    assert d.cli("start", "smartmontools").returncode == 0
    assert d.state("smartmontools") == "inactive/dead"
    text = d.cli("status", "smartmontools").stdout
    assert "ConditionVirtualization=no was not met" in text, text
    assert not d.namespace_processes()
