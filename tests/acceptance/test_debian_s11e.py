"""Monitoring exporters, message brokers, VPN and mail-filter daemons of Debian (issue #4's
held-back set), started unchanged through pidone.

Each test installs its package with apt (policy-rc.d: nothing started) and runs the issue's
sequence on the packaged unit in an isolated namespace (PID, mount and network; a tmpfs on
/run) whose PID 1 is started with `--tmpfiles=yes`: start, a protocol probe inside the
namespace, `pidone status` (Main PID, the unit's processes), reload where the unit has
ExecReload=, restart with a new main PID, stop with nothing left.

What a service needs that a fresh install does not give (a data source for the exporters,
alertmanager without its gossip mesh, a fully qualified host name for amavisd, an SQLite
path zabbix_proxy can write), and every directory a daemon writes under /var (pushgateway's
and alertmanager's data, psad's logs, amavisd's quarantine), is bound over the packaged path
inside the namespace only, so the host's files stay as the package left them.
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
    HTTP,
    TLS,
    bind_over,
    iso,
    owned_dir,
    owner,
    self_signed,
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

# A PPTP Start-Control-Connection-Request (RFC 2637 2.1) to 127.0.0.1:1723: prints the
# control message type of the reply (2, Start-Control-Connection-Reply) and its result code.
_PPTP = (
    "import socket, struct\n"
    "req = struct.pack('>HHIHHHHIIHH64s64s', 156, 1, 0x1A2B3C4D, 1, 0, 0x0100, 0, 1, 1, 0, 0,"
    " b'pidone', b'pidone')\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 1723), timeout=10)\n"
    "    s.sendall(req)\n"
    "    r = s.makefile('rb').read(16)\n"
    "    print('pptp', struct.unpack('>H', r[8:10])[0], r[14])\n"
    "except (OSError, struct.error, IndexError) as exc:\n"
    "    print('error:', exc)\n"
)

# A Zabbix `zabbix.stats` request (Zabbix protocol: "ZBXD\\x01", 8-byte length, JSON) to
# 127.0.0.1:10051: prints the `response` field of the reply.
_ZABBIX_STATS = (
    "import json, socket, struct\n"
    "body = json.dumps({'request': 'zabbix.stats'}).encode()\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 10051), timeout=10)\n"
    "    s.sendall(b'ZBXD\\x01' + struct.pack('<Q', len(body)) + body)\n"
    "    r = s.makefile('rb').read()\n"
    "    print(json.loads(r[13:].decode()).get('response'))\n"
    "except (OSError, ValueError) as exc:\n"
    "    print('error:', exc)\n"
)


# A BGP OPEN (RFC 4271 4.2) from 127.0.0.2, AS 65001, to 127.0.0.1:179: prints the type of
# the first message the speaker sends back (1, its own OPEN) and the AS in it.
_BGP_OPEN = (
    "import socket, struct\n"
    "s = socket.socket()\n"
    "s.settimeout(10)\n"
    "s.bind(('127.0.0.2', 0))\n"
    "try:\n"
    "    s.connect(('127.0.0.1', 179))\n"
    "    body = struct.pack('>BHH4sB', 4, 65001, 90, socket.inet_aton('127.0.0.2'), 0)\n"
    "    s.sendall(b'\\xff' * 16 + struct.pack('>HB', 19 + len(body), 1) + body)\n"
    "    r = s.makefile('rb').read(22)\n"
    "    print('bgp', r[18], struct.unpack('>H', r[20:22])[0])\n"
    "except (OSError, IndexError, struct.error) as exc:\n"
    "    print('error:', exc)\n"
)

# tinc 1.0's meta protocol: a client's ID request ("0 NAME 17") to 127.0.0.1:655, for a
# host the daemon knows; the first line back is the daemon's own ID.
_TINC_ID = (
    "import socket\n"
    "try:\n"
    "    s = socket.create_connection(('127.0.0.1', 655), timeout=10)\n"
    "    s.sendall(b'0 probe 17\\n')\n"
    "    print(s.makefile('rb').readline().decode().strip())\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
)


def metrics(d: Iso, port: int) -> str:
    """The status line of an HTTP/1.0 `GET /metrics` on 127.0.0.1:PORT (Go answers in the
    request's version)."""
    return d.py(HTTP, str(port), "/metrics")


def metric(d: Iso, port: int, name: str) -> str:
    """The line of /metrics on 127.0.0.1:PORT that starts with `name`."""
    r = d.inside(
        "python3",
        "-S",
        "-c",
        "import urllib.request, sys; sys.stdout.write("
        f"urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())",
    )
    lines = [line for line in r.stdout.splitlines() if line.startswith(name)]
    return lines[0] if lines else r.stdout[-300:] + r.stderr[-300:]


def settled_status(d: Iso, unit: str, comm: str) -> str:
    """status_lists() once the daemon's process set has settled: zabbix_proxy, amavisd and
    ocserv fork their workers after the start job, and one forked between the status text
    and the process list is not in the text yet."""

    def lists() -> bool:
        try:
            status_lists(d, unit, comm)
        except AssertionError:
            return False
        return True

    d.wait_for(lists, what=f"`pidone status {unit}` to list every {comm}")
    return status_lists(d, unit, comm)


def _file(path: Path, text: str, mode: int = 0o644) -> Path:
    os.chmod(path.parent, 0o755)
    path.write_text(text)
    path.chmod(mode)
    return path


def _prometheus_home(d: Iso, tmp_path: Path) -> Path:
    """An empty /var/lib/prometheus (the user's home and the data directories) in `d`."""
    home = owned_dir(tmp_path / "prometheus", "prometheus", 0o755)
    owned_dir(home / "alertmanager", "prometheus", 0o755)
    bind_over(d, home, "/var/lib/prometheus")
    return home


def _answers(d: Iso, unit: str, port: int) -> None:
    d.wait_for(lambda: metrics(d, port).startswith("HTTP/1.0 200 "), what=f"{unit} to answer")


def reload_ends_it(d: Iso, unit: str) -> None:
    """ExecReload= `kill -HUP $MAINPID` where the daemon does not catch SIGHUP (Go's default
    action: it dies of it). The reload job succeeds, and a main process killed by SIGHUP is
    a clean exit (systemd.service(5), SuccessExitStatus=: "SIGHUP, SIGINT, SIGTERM, and
    SIGPIPE"), so Restart=on-failure leaves it: inactive (dead), result success, as 252 ends
    (checked on the oracle)."""
    r = d.cli("reload", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state(f"{unit}.service", "inactive/dead")
    assert d.status(unit)["result"] == "success", d.status(unit)
    journal = d.journal("-u", f"{unit}.service")
    assert f"{unit}.service: Deactivated successfully." in journal, journal
    assert "Scheduled restart job" not in journal, journal
    d.wait_for(lambda: not d.namespace_processes(), what=f"{unit} to be gone")


def _exporter(d: Iso, unit: str, port: int, comm: str, *, reload: str) -> None:
    """The sequence for a Prometheus exporter answering /metrics on `port`. `reload`: "keeps"
    (it catches SIGHUP), "ends" (it dies of it) or "none" (no ExecReload=)."""
    start(d, unit)
    _answers(d, unit, port)
    status_lists(d, unit, comm)
    if reload == "keeps":
        reload_keeps_main(d, unit)
    elif reload == "ends":
        reload_ends_it(d, unit)
        start(d, unit)
        _answers(d, unit, port)
    else:
        no_reload(d, unit)
    restart_new_main(d, unit)
    _answers(d, unit, port)
    stop_all_gone(d, unit)


# --- the services ---------------------------------------------------------------------------


def test_prometheus_pushgateway(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """User=prometheus, EnvironmentFile= with an empty $ARGS, SendSIGKILL=no; its HUP
    "reload" ends it (reload_ends_it). Its persistence file
    (/var/lib/prometheus/pushgateway.data) goes to the namespace's."""
    require("prometheus-pushgateway")
    d = owner()
    home = _prometheus_home(d, tmp_path)
    _exporter(d, "prometheus-pushgateway", 9091, "prometheus-push", reload="ends")
    assert (home / "pushgateway.data").exists()  # written on SIGTERM, where it was bound


def test_prometheus_redis_exporter(owner: Callable[[], Iso]) -> None:
    """User=prometheus; its HUP "reload" ends it (reload_ends_it); with no redis to ask,
    `redis_up 0` on 9121."""
    require("prometheus-redis-exporter")
    d = owner()
    _exporter(d, "prometheus-redis-exporter", 9121, "prometheus-redi", reload="ends")


def test_prometheus_blackbox_exporter(owner: Callable[[], Iso]) -> None:
    """User=prometheus, `$ARGS` split into two words, HUP reload (re-reads blackbox.yml)."""
    require("prometheus-blackbox-exporter")
    d = owner()
    _exporter(d, "prometheus-blackbox-exporter", 9115, "prometheus-blac", reload="keeps")


def test_prometheus_alertmanager(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """User=prometheus, HUP reload. Alertmanager's gossip mesh needs a private address (it
    exits 1 with only `lo`, also under 252): the namespace's /etc/default file turns the mesh
    off (`--cluster.listen-address=`)."""
    require("prometheus-alertmanager")
    default = _file(tmp_path / "alertmanager.default", 'ARGS="--cluster.listen-address="\n')
    d = owner()
    _prometheus_home(d, tmp_path)
    bind_over(d, default, "/etc/default/prometheus-alertmanager")
    start(d, "prometheus-alertmanager")
    d.wait_for(lambda: d.py(HTTP, "9093", "/-/healthy").startswith("HTTP/1.0 200 "), what="it")
    status_lists(d, "prometheus-alertmanager", "prometheus-aler")
    reload_keeps_main(d, "prometheus-alertmanager")
    restart_new_main(d, "prometheus-alertmanager")
    d.wait_for(lambda: d.py(HTTP, "9093", "/-/healthy").startswith("HTTP/1.0 200 "), what="it")
    stop_all_gone(d, "prometheus-alertmanager")


def test_prometheus_postgres_exporter(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """User=prometheus, no ExecReload=. The packaged DATA_SOURCE_NAME is empty (exit 1,
    "malformed dsn", also under 252): the namespace's names a server that is not there,
    which the exporter reports as `pg_up 0`."""
    require("prometheus-postgres-exporter")
    default = _file(
        tmp_path / "postgres.default",
        "DATA_SOURCE_NAME='postgresql://pidone@127.0.0.1:5432/postgres?sslmode=disable'\n"
        'ARGS=""\n',
    )
    d = owner()
    bind_over(d, default, "/etc/default/prometheus-postgres-exporter")
    start(d, "prometheus-postgres-exporter")
    d.wait_for(lambda: metric(d, 9187, "pg_up") == "pg_up 0", what="postgres-exporter")
    _rest(d, "prometheus-postgres-exporter", "prometheus-post", 9187)


def test_prometheus_mysqld_exporter(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """User=prometheus, no ExecReload=. It reads ~prometheus/.my.cnf, which a fresh install
    lacks (exit 1, also under 252): the namespace's home has one for a server that is not
    there (`mysql_up 0`)."""
    require("prometheus-mysqld-exporter")
    d = owner()
    home = _prometheus_home(d, tmp_path)
    cnf = _file(home / ".my.cnf", "[client]\nuser=pidone\npassword=pidone\nhost=127.0.0.1\n", 0o600)
    shutil.chown(cnf, "prometheus", "prometheus")
    start(d, "prometheus-mysqld-exporter")
    d.wait_for(lambda: metric(d, 9104, "mysql_up") == "mysql_up 0", what="mysqld-exporter")
    _rest(d, "prometheus-mysqld-exporter", "prometheus-mysq", 9104)


def _rest(d: Iso, unit: str, comm: str, port: int) -> None:
    status_lists(d, unit, comm)
    no_reload(d, unit)
    restart_new_main(d, unit)
    _answers(d, unit, port)
    stop_all_gone(d, unit)


def test_nats_server(owner: Callable[[], Iso]) -> None:
    """User=nats, PrivateTmp=, ExecStop= `kill -s SIGINT $MAINPID` (its lame-duck-less
    shutdown), HUP reload; NATS greets a client with an INFO line."""
    require("nats-server")
    d = owner()
    start(d, "nats-server")
    d.wait_for(lambda: banner(d, 4222).startswith("INFO {"), what="nats-server to answer")
    status_lists(d, "nats-server", "nats-server")
    reload_keeps_main(d, "nats-server")
    assert banner(d, 4222).startswith("INFO {")
    restart_new_main(d, "nats-server")
    d.wait_for(lambda: banner(d, 4222).startswith("INFO {"), what="nats-server to answer")
    stop_all_gone(d, "nats-server")


def test_pptpd(owner: Callable[[], Iso]) -> None:
    """Type=simple `pptpd --fg` with an empty $DAEMON_OPTS; pptpd forks a pptpctrl per
    control connection (in the unit's cgroup, gone after the stop). A PPTP control
    connection request is answered with a Start-Control-Connection-Reply."""
    require("pptpd")
    d = owner()
    start(d, "pptpd")
    d.wait_for(lambda: d.py(_PPTP).startswith("pptp 2 "), what="pptpd to answer")
    settled_status(d, "pptpd", "pptpd")
    no_reload(d, "pptpd")
    restart_new_main(d, "pptpd")
    d.wait_for(lambda: d.py(_PPTP).startswith("pptp 2 "), what="pptpd to answer")
    stop_all_gone(d, "pptpd")


def test_amavis(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """amavis.service: User=amavis, RuntimeDirectory=, two `-`ExecStartPre= `find ... -exec
    rm -rf "{}" \\;` (the quoted `{}` and the escaped `;`), PrivateTmp=, ProtectSystem=full,
    ProtectHome=, an empty CapabilityBoundingSet=; reload by `amavisd reload` (SIGHUP to the
    PID file's process, which re-executes itself). amavisd refuses a host name that is no FQDN
    (exit 1, also under 252): the namespace's 05-node_id gives one. /var/lib/amavis is the
    namespace's. It greets on 127.0.0.1:10024 as an SMTP server."""
    require("amavisd-new")
    node_id = _file(tmp_path / "05-node_id", '$myhostname = "pidone.example.org";\n1;\n')
    var = owned_dir(tmp_path / "amavis", "amavis")
    for sub in ("db", "tmp", "virusmails"):
        owned_dir(var / sub, "amavis")
    (var / "tmp" / "amavis-20260101T000000-00001").mkdir()  # what ExecStartPre= clears
    d = owner()
    bind_over(d, node_id, "/etc/amavis/conf.d/05-node_id")
    bind_over(d, var, "/var/lib/amavis")
    start(d, "amavis")
    d.wait_for(lambda: banner(d, 10024).startswith("220 "), what="amavisd to answer")
    assert not (var / "tmp" / "amavis-20260101T000000-00001").exists()
    settled_status(d, "amavis", "/usr/sbin/amavi")  # comm from $0, "/usr/sbin/amavisd (master)"
    assert d.read("/run/amavis/amavisd.pid").strip() == str(d.status("amavis")["main_pid"])
    reload_keeps_main(d, "amavis")
    d.wait_for(lambda: banner(d, 10024).startswith("220 "), what="amavisd to answer")
    restart_new_main(d, "amavis")
    d.wait_for(lambda: banner(d, 10024).startswith("220 "), what="amavisd to answer")
    stop_all_gone(d, "amavis")
    assert not d.exists("/run/amavis")


def test_psad(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """psad.service: Type=forking with PIDFile= in its RuntimeDirectory=, Wants= a unit that
    is not installed (netfilter-persistent), ConditionPathExists=. psad has no socket: its
    `--Status` report names the running daemon's PID. /var/log/psad and /var/lib/psad are
    the namespace's, and its psad.conf says ALERTING_METHODS noemail."""
    require("psad")
    logs = tmp_path / "psad"
    logs.mkdir()
    state = tmp_path / "psad-state"  # psad makes its psadfifo there
    state.mkdir()
    # Without this, psad mails a "firewall setup warning" to root through the host's MTA
    # at every start (the namespace has no firewall rules that log).
    packaged = Path("/etc/psad/psad.conf").read_text()
    conf = _file(
        tmp_path / "psad.conf",
        re.sub(r"(?m)^ALERTING_METHODS\s+.*$", "ALERTING_METHODS            noemail;", packaged),
    )
    d = owner()
    bind_over(d, logs, "/var/log/psad")
    bind_over(d, state, "/var/lib/psad")
    bind_over(d, conf, "/etc/psad/psad.conf")
    info = start(d, "psad")
    assert d.read("/run/psad/psad.pid").strip() == str(info["main_pid"])
    report = d.inside("psad", "--Status").stdout
    assert f"pid: {info['main_pid']}" in report, report
    status_lists(d, "psad", "psad")
    no_reload(d, "psad")
    restart_new_main(d, "psad")
    stop_all_gone(d, "psad")
    assert not d.exists("/run/psad")


def test_zabbix_proxy(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """zabbix-proxy.service: Type=simple `--foreground` as User=/Group=zabbix, with its
    pollers and trappers forked in the unit's cgroup; Restart=on-abnormal. The packaged
    DBName= is relative (zabbix_proxy cannot create it in /, exit 1, also under 252): the
    namespace's configuration has an SQLite file in a /var/lib/zabbix of its own and logs to
    the console (the journal). `zabbix.stats` on 10051 answers "success"."""
    require("zabbix-proxy-sqlite3")
    conf = _file(
        tmp_path / "zabbix_proxy.conf",
        "Server=127.0.0.1\nHostname=pidone\nLogType=console\n"
        "PidFile=/run/zabbix/zabbix_proxy.pid\nDBName=/var/lib/zabbix/zabbix_proxy.db\n"
        "StatsAllowedIP=127.0.0.1\nTimeout=4\n",
    )
    var = owned_dir(tmp_path / "zabbix", "zabbix")
    d = owner()
    bind_over(d, conf, "/etc/zabbix/zabbix_proxy.conf")
    bind_over(d, var, "/var/lib/zabbix")
    start(d, "zabbix-proxy")
    d.wait_for(lambda: d.py(_ZABBIX_STATS) == "success", what="zabbix_proxy to answer")
    settled_status(d, "zabbix-proxy", "zabbix_proxy")
    no_reload(d, "zabbix-proxy")
    restart_new_main(d, "zabbix-proxy")
    d.wait_for(lambda: d.py(_ZABBIX_STATS) == "success", what="zabbix_proxy to answer")
    stop_all_gone(d, "zabbix-proxy")
    assert (var / "zabbix_proxy.db").exists()


def test_gobgpd(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """gobgpd.service: Type=notify (`--sdnotify`), DynamicUser=yes with
    AmbientCapabilities=CAP_NET_BIND_SERVICE (BGP's port 179), an ExecStartPre= dry run and
    ConditionPathExists=/etc/gobgpd.conf, which a fresh install lacks: the namespace's /etc
    is an overlay with one (a passive neighbour 127.0.0.2). Its ExecReload= `gobgpd -r`
    starts a second daemon that cannot bind the gRPC port and exits 1: under 252 too the
    reload job fails ("Reload failed for"), and the service runs on with the same main PID."""
    require("gobgpd")
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    _file(
        upper / "gobgpd.conf",
        '[global.config]\n  as = 64512\n  router-id = "127.0.0.1"\n[[neighbors]]\n'
        '  [neighbors.config]\n    neighbor-address = "127.0.0.2"\n    peer-as = 65001\n'
        "  [neighbors.transport.config]\n    passive-mode = true\n",
    )
    d = owner()
    r = d.inside(
        "mount", "-t", "overlay", "overlay", "-o",
        f"lowerdir=/etc,upperdir={upper},workdir={work}", "/etc",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    info = start(d, "gobgpd")
    assert d.uid_of(info["main_pid"]) >= 61184  # a dynamic user (61184-65519)
    d.wait_for(lambda: d.py(_BGP_OPEN) == "bgp 1 64512", what="gobgpd to answer")
    text = status_lists(d, "gobgpd", "gobgpd")
    assert (
        "ExecStartPre=/usr/bin/gobgpd -f /etc/gobgpd.conf -d (code=exited, status=0/SUCCESS)"
        in text
    )
    r = d.cli("reload", "gobgpd")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Job for gobgpd.service failed." in r.stderr, r.stderr
    assert "Reload failed for gobgpd.service - GoBGP Routing Daemon." in d.journal(
        "-u", "gobgpd.service"
    )
    after = d.status("gobgpd")
    assert (after["active"], after["sub"], after["main_pid"]) == (
        "active",
        "running",
        info["main_pid"],
    )
    restart_new_main(d, "gobgpd")
    d.wait_for(lambda: d.py(_BGP_OPEN) == "bgp 1 64512", what="gobgpd to answer")
    stop_all_gone(d, "gobgpd")


def test_tinc_instance(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """tinc@pidone.service: a template instance (`-n %i`, WorkingDirectory=/etc/tinc/%i),
    PartOf= and ReloadPropagatedFrom= tinc.service, KillMode=mixed, reload by `tincd -kHUP`
    (the PID file /run/tinc.pidone.pid). The namespace's /etc/tinc has a net `pidone` with
    a dummy device (no tun), its key made by `tincd -K`, and a host `probe` whose ID
    request the daemon answers with its own. A reload of tinc.service reaches the instance;
    stopping tinc.service stops it (PartOf=)."""
    require("tinc")
    etc = tmp_path / "tinc"
    hosts = etc / "pidone" / "hosts"
    hosts.mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    _file(etc / "pidone" / "tinc.conf", "Name = pidone\nDeviceType = dummy\nPort = 655\n")
    _file(hosts / "pidone", "Subnet = 10.99.0.1/32\n")
    key = subprocess.run(
        ["openssl", "genrsa", "-traditional", "2048"], capture_output=True, text=True, check=True
    ).stdout
    public = subprocess.run(
        ["openssl", "rsa", "-RSAPublicKey_out"],
        input=key,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    _file(hosts / "probe", public)
    d = owner()
    bind_over(d, etc, "/etc/tinc")
    r = d.inside("tincd", "-n", "pidone", "-K")
    assert r.returncode == 0, r.stderr
    unit = "tinc@pidone.service"
    info = start(d, unit)
    d.wait_for(lambda: d.py(_TINC_ID) == "0 pidone 17", what="tincd to answer")
    assert d.read("/run/tinc.pidone.pid").split()[0] == str(info["main_pid"])
    status_lists(d, unit, "tincd")
    reload_keeps_main(d, unit)
    d.wait_for(lambda: "Got HUP signal" in d.journal("-u", unit), what="tincd's HUP")
    restart_new_main(d, unit)
    d.wait_for(lambda: d.py(_TINC_ID) == "0 pidone 17", what="tincd to answer")
    # the umbrella unit: its reload propagates, its stop takes the instance along
    assert d.cli("start", "tinc.service").returncode == 0
    main = d.status(unit)["main_pid"]
    assert d.cli("reload", "tinc.service").returncode == 0
    d.wait_for(lambda: d.journal("-u", unit).count("Got HUP signal") == 2, what="a 2nd HUP")
    assert d.status(unit)["main_pid"] == main
    assert d.cli("stop", "tinc.service").returncode == 0
    d.wait_state(unit, "inactive/dead")
    d.wait_for(lambda: not d.namespace_processes(), what="tincd to exit")
    assert not d.exists("/run/tinc.pidone.pid")


def test_ocserv_with_a_certificate(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """ocserv.service: Type=simple `--foreground` with PIDFile= (the daemon writes it; gone
    after the stop), PrivateTmp=, a security-module and worker processes in the unit's
    cgroup, HUP reload. The packaged ocserv.conf names no server certificate (ocserv exits
    1, also under 252): the namespace's /etc/ocserv has the packaged file plus a self-signed
    one; its chroot-dir /var/lib/ocserv is the namespace's. A TLS client sees that
    certificate on 443."""
    require("ocserv")
    etc = tmp_path / "ocserv"
    etc.mkdir(mode=0o755)
    cert, key = self_signed(etc, "pidone-ocserv")
    packaged = Path("/etc/ocserv/ocserv.conf").read_text()
    _file(
        etc / "ocserv.conf",
        f"{packaged}\nserver-cert = /etc/ocserv/{cert.name}\nserver-key = /etc/ocserv/{key.name}\n",
    )
    _file(etc / "passwd", "", 0o600)
    chroot = tmp_path / "ocserv-chroot"  # chroot-dir: its sockets go to run/ there
    (chroot / "run").mkdir(parents=True)
    d = owner()
    bind_over(d, etc, "/etc/ocserv")
    bind_over(d, chroot, "/var/lib/ocserv")
    info = start(d, "ocserv")
    tls = lambda: d.py(TLS, "443", "pidone-ocserv")  # noqa: E731
    d.wait_for(lambda: tls().endswith("CN=pidone-ocserv"), what="ocserv to answer")
    assert d.read("/run/ocserv.pid").strip() == str(info["main_pid"])
    settled_status(d, "ocserv", "ocserv-main")
    reload_keeps_main(d, "ocserv")
    d.wait_for(lambda: tls().endswith("CN=pidone-ocserv"), what="ocserv to answer")
    restart_new_main(d, "ocserv")
    d.wait_for(lambda: tls().endswith("CN=pidone-ocserv"), what="ocserv to answer")
    stop_all_gone(d, "ocserv")
    assert not d.exists("/run/ocserv.pid")


def test_sniproxy_forks_away_as_under_252(owner: Callable[[], Iso], tmp_path: Path) -> None:
    """sniproxy.service is Type=simple, but `/usr/sbin/sniproxy` (no `-f`) daemonizes: its
    first process exits 0, so the unit is `inactive (dead)` right after the start, and with
    KillMode=process the daemon is left running ("Unit process N (sniproxy) remains running
    after unit stopped"), neither stopped nor restartable through the unit. This is what
    systemd 252 does with the packaged unit too (checked on the oracle: the same state,
    CGroup tree and journal lines). The daemon answers on 80 all the same. Its access logs
    go to the namespace's /var/log/sniproxy."""
    require("sniproxy")
    logs = tmp_path / "sniproxy"
    logs.mkdir()
    d = owner()
    bind_over(d, logs, "/var/log/sniproxy")
    r = d.cli("start", "sniproxy")
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_state("sniproxy.service", "inactive/dead")
    assert d.status("sniproxy")["result"] == "success"
    left = [pid for pid, _state, name in d.namespace_processes() if name == "sniproxy"]
    assert len(left) == 2, d.namespace_processes()  # the daemon and its resolver
    journal = d.journal("-u", "sniproxy.service")
    assert "sniproxy.service: Deactivated successfully." in journal, journal
    # the daemon, and its resolver process if it was forked by then
    named = re.findall(
        r"Unit process (\d+) \(sniproxy\) remains running after unit stopped", journal
    )
    assert named, journal
    assert {int(pid) for pid in named} <= set(left), journal
    text = d.cli("status", "sniproxy").stdout
    assert "Active: inactive (dead)" in text, text
    assert "Main PID: " in text, text
    assert "(code=exited, status=0/SUCCESS)" in text, text
    assert {int(m) for m in re.findall(r"[├└]─ *(\d+) ", text)} == set(left), text
    d.wait_for(lambda: d.py(HTTP, "80", "/").startswith("HTTP/1."), what="sniproxy to answer")
    assert d.cli("stop", "sniproxy").returncode == 0  # an inactive unit: nothing to stop
    assert sorted(p for p, _s, n in d.namespace_processes() if n == "sniproxy") == sorted(left)
