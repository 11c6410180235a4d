"""More packaged Debian services, started unchanged through pidone only (issue #4's held-back set).

Each test installs what it needs with apt (policy-rc.d in place, so nothing is started by the
maintainer scripts), then runs the issue's sequence on the packaged unit in fresh PID and
network namespaces (conftest's `real_ns`): start, a protocol probe on loopback, `pidone
status` (Main PID, CGroup tree), reload where the unit has ExecReload=, restart, stop, and
nothing of the unit left (processes, PID file).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import socket
import stat
import sys
from collections.abc import Iterator

import pytest

from tests.acceptance.conftest import Factory, RealServicesDaemon, require

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


# Send bytes (hex) to 127.0.0.1:PORT or a Unix socket path, print what comes back (in hex)
# until the peer closes or WANT bytes have arrived; "error: ..." when it cannot connect.
_PROBE = (
    "import socket, sys\n"
    "where, payload, want = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3])\n"
    "try:\n"
    "    if where.startswith('/'):\n"
    "        s = socket.socket(socket.AF_UNIX)\n"
    "        s.settimeout(10)\n"
    "        s.connect(where)\n"
    "    else:\n"
    "        s = socket.create_connection(('127.0.0.1', int(where)), timeout=10)\n"
    "    s.sendall(payload)\n"
    "    data = b''\n"
    "    while len(data) < want and (chunk := s.recv(65536)):\n"
    "        data += chunk\n"
    "except OSError as exc:\n"
    "    print('error:', exc)\n"
    "    sys.exit(1)\n"
    "print(data.hex())\n"
)


def probe(d: RealServicesDaemon, where: str | int, payload: bytes, want: int = 1 << 20) -> str:
    """The answer to `payload`, asked from inside the namespace's network."""
    r = d.in_net(sys.executable, "-c", _PROBE, str(where), payload.hex(), str(want))
    if r.stdout.startswith("error:"):
        return r.stdout
    return bytes.fromhex(r.stdout.strip()).decode("latin-1")


def http(d: RealServicesDaemon, port: int, path: str = "/", method: str = "HEAD") -> str:
    return probe(d, port, f"{method} {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())


def header(response: str, name: str) -> str:
    for line in response.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() == name.lower():
            return value.strip()
    return ""


def start(d: RealServicesDaemon, unit: str) -> None:
    r = d.cli("start", unit)
    assert r.returncode == 0, f"{r.stdout}{r.stderr}\n{d.cli('status', unit).stdout}"


def main_pid(d: RealServicesDaemon, unit: str) -> int:
    pid = d.status(f"{unit}.service")["main_pid"]
    assert isinstance(pid, int)
    assert pid > 0
    return pid


def check_status(d: RealServicesDaemon, unit: str, comm: str, at_least: int = 1) -> int:
    """`pidone status UNIT` says active (running), names the main PID and lists it in the
    CGroup tree with at least `at_least` processes; returns the main PID."""
    text = d.cli("status", unit).stdout
    main = main_pid(d, unit)
    assert "Active: active (running)" in text, text
    assert re.search(rf"Main PID: {main} \({re.escape(comm)}\)", text), text
    listed = {int(m) for m in re.findall(r"[├└]─ *(\d+) ", text)}
    assert main in listed, text
    assert len(listed) >= at_least, text
    return main


def wait_answer(d: RealServicesDaemon, unit: str, ask: object, what: str) -> None:
    """Wait until `ask()` is true, failing early if the unit fails (Type=simple services
    are started before they listen)."""

    def ok() -> bool:
        if d.state(f"{unit}.service") == "failed/failed":
            raise AssertionError(f"{unit} failed:\n{d.cli('status', unit).stdout}")
        return bool(ask())  # type: ignore[operator]

    d.wait_for(ok, what=what)


def stop_and_check(
    d: RealServicesDaemon, unit: str, *gone: str, states: tuple[str, ...] = ()
) -> None:
    """`pidone stop` exits 0, every process of the namespace ends, the unit is inactive
    (or one of `states`), and every path in `gone` (PID files) is removed."""
    r = d.cli("stop", unit)
    assert r.returncode == 0, r.stdout + r.stderr
    d.wait_for(lambda: not d.namespace_processes(), what=f"every process of {unit} to exit")
    assert d.state(f"{unit}.service") in ("inactive/dead", *states)
    for path in gone:
        assert not os.path.exists(path), f"{path} was left behind"


@pytest.fixture
def dev_log() -> Iterator[None]:
    """A /dev/log to bind: journald always provides one under systemd, and haproxy's
    `BindReadOnlyPaths=/dev/log:...` (no `-`) fails at step NAMESPACE without it, as in
    systemd. A test daemon must not serve the host's /dev/log (--dev-log=), so when the host
    has none, the test holds a datagram socket there for its duration."""
    if os.path.exists("/dev/log"):
        yield
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink("/dev/log")  # a dangling symlink
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/dev/log")
    ino = os.stat("/dev/log").st_ino
    try:
        yield
    finally:
        sock.close()
        with contextlib.suppress(OSError):
            if os.stat("/dev/log").st_ino == ino:
                os.unlink("/dev/log")


# --- memcached: Type=simple, PIDFile= written by memcached -P, sandboxing --------------------


def test_memcached(real_ns: Factory) -> None:
    require("memcached")
    d = real_ns()
    start(d, "memcached")
    wait_answer(
        d, "memcached", lambda: probe(d, 11211, b"version\r\n", 8).startswith("VERSION"), "11211"
    )
    main = check_status(d, "memcached", "memcached")
    assert d.uid_of(main) == _uid("memcache")  # memcached -u memcache drops root itself
    assert d.cli("restart", "memcached").returncode == 0
    assert main_pid(d, "memcached") != main
    wait_answer(
        d, "memcached", lambda: probe(d, 11211, b"version\r\n", 8).startswith("VERSION"), "11211"
    )
    stop_and_check(d, "memcached", "/run/memcached/memcached.pid")


# --- haproxy: Type=notify master-worker, ExecReload= check + USR2, KillMode=mixed ------------


def test_haproxy(real_ns: Factory, dev_log: None) -> None:
    require("haproxy")
    d = real_ns()
    start(d, "haproxy")
    main = check_status(d, "haproxy", "haproxy", at_least=2)  # master and a worker

    def info() -> str:
        return probe(d, "/run/haproxy/admin.sock", b"show info\n")

    assert "Name: HAProxy" in info()
    worker = header(info(), "Pid")
    # reload: `haproxy -c` then USR2 to the master, which forks a new worker
    assert d.cli("reload", "haproxy").returncode == 0
    assert main_pid(d, "haproxy") == main
    d.wait_for(lambda: header(info(), "Pid") not in ("", worker))
    assert "Reloaded haproxy.service" in d.journal("-u", "haproxy")
    assert d.cli("restart", "haproxy").returncode == 0
    assert main_pid(d, "haproxy") != main
    assert "Name: HAProxy" in info()
    # its -p /run/haproxy.pid is not the unit's PIDFile=, and haproxy leaves its sockets:
    # neither systemd nor pidone removes them
    stop_and_check(d, "haproxy")
    assert info().startswith("error:")


# --- lighttpd: ExecStartPre= config test, Type=simple with PIDFile=, USR1 reload ------------


def test_lighttpd(real_ns: Factory) -> None:
    require("lighttpd")
    d = real_ns()
    start(d, "lighttpd")
    wait_answer(d, "lighttpd", lambda: "lighttpd" in header(http(d, 80), "Server"), "port 80")
    main = check_status(d, "lighttpd", "lighttpd")
    assert d.cli("reload", "lighttpd").returncode == 0
    assert main_pid(d, "lighttpd") == main
    wait_answer(d, "lighttpd", lambda: "lighttpd" in header(http(d, 80), "Server"), "port 80")
    assert d.cli("restart", "lighttpd").returncode == 0
    assert main_pid(d, "lighttpd") != main
    wait_answer(d, "lighttpd", lambda: "lighttpd" in header(http(d, 80), "Server"), "port 80")
    stop_and_check(d, "lighttpd", "/run/lighttpd.pid")


# --- postgresql: postgresql@VERSION-CLUSTER (Type=forking, PIDFile=%i) ----------------------


def _clusters() -> list[str]:
    """`15-main` for every /etc/postgresql/15/main/postgresql.conf."""
    out = []
    for conf in sorted(glob.glob("/etc/postgresql/*/*/postgresql.conf")):
        version, cluster = conf.split("/")[3:5]
        out.append(f"{version}-{cluster}")
    return out


def _psql(d: RealServicesDaemon) -> str:
    r = d.in_net(
        "runuser", "-u", "postgres", "--", "psql", "-h", "/run/postgresql", "-Atc", "select 6*7"
    )
    return r.stdout.strip()


def test_postgresql_cluster_instance(real_ns: Factory) -> None:
    require("postgresql")
    if not _clusters():
        pytest.skip("the postgresql package made no cluster (/etc/postgresql/*/*)")
    instance = f"postgresql@{_clusters()[0]}"
    pid_file = f"/run/postgresql/{_clusters()[0]}.pid"
    d = real_ns()
    start(d, instance)
    main = check_status(d, instance, "postgres", at_least=3)
    with open(pid_file) as f:  # PIDFile=/run/postgresql/%i.pid names the postmaster
        assert int(f.read().split()[0]) == main
    assert _psql(d) == "42"
    assert d.cli("reload", instance).returncode == 0  # pg_ctlcluster reload
    assert main_pid(d, instance) == main
    assert d.cli("restart", instance).returncode == 0
    assert main_pid(d, instance) != main
    assert _psql(d) == "42"
    # SyslogIdentifier=postgresql@%i tags what pg_ctlcluster printed
    stop_and_check(d, instance, pid_file)


def test_postgresql_service_drives_its_clusters(real_ns: Factory) -> None:
    """Debian wires clusters to postgresql.service with a generator (postgresql-generator
    links postgresql@15-main.service into postgresql.service.wants); PartOf= and
    ReloadPropagatedFrom= carry restart/stop and reload from postgresql.service."""
    require("postgresql")
    if not _clusters():
        pytest.skip("the postgresql package made no cluster (/etc/postgresql/*/*)")
    instance = f"postgresql@{_clusters()[0]}"
    d = real_ns()
    start(d, "postgresql")
    assert d.state("postgresql.service") == "active/exited"
    d.wait_state(f"{instance}.service", "active/running")
    assert _psql(d) == "42"
    main = main_pid(d, instance)
    assert d.cli("reload", "postgresql").returncode == 0
    assert f"Reloaded {instance}.service" in d.journal("-u", instance)
    assert main_pid(d, instance) == main
    assert d.cli("restart", "postgresql").returncode == 0
    d.wait_state(f"{instance}.service", "active/running")
    assert main_pid(d, instance) != main
    assert _psql(d) == "42"
    # Before=postgresql.service: stopping orders the instance after postgresql.service, so
    # `stop postgresql` returns before the cluster is down (as systemctl's does)
    stop_and_check(d, "postgresql")
    assert d.state(f"{instance}.service") == "inactive/dead"


# --- mariadb: Type=notify as User=mysql, ExecStartPost=! (root), sh -c with $VAR ------------


def test_mariadb(real_ns: Factory) -> None:
    require("mariadb-server")
    d = real_ns()
    start(d, "mariadb")
    main = check_status(d, "mariadb", "mariadbd")
    assert d.uid_of(main) == _uid("mysql")
    assert 'Status: "Taking your SQL requests now..."' in d.cli("status", "mariadb").stdout
    r = d.in_net("mariadb", "-N", "-e", "select 6*7")  # root over the socket (unix_socket)
    assert r.stdout.strip() == "42", r.stderr
    assert d.cli("reload", "mariadb").returncode != 0  # no ExecReload=: refused
    assert main_pid(d, "mariadb") == main
    assert d.cli("restart", "mariadb").returncode == 0
    assert main_pid(d, "mariadb") != main
    assert d.in_net("mariadb", "-N", "-e", "select 6*7").stdout.strip() == "42"
    assert "ready for connections" in d.journal("-u", "mariadb")
    stop_and_check(d, "mariadb", "/run/mysqld/mysqld.pid", "/run/mysqld/mysqld.sock")


# --- php8.2-fpm: Type=notify with STATUS=, ExecStartPost=-/ExecStopPost=-, USR2 reload ------

# FCGI_GET_VALUES (type 9) asking for FCGI_MAX_CONNS; the answer is FCGI_GET_VALUES_RESULT
# (type 10): FastCGI specification, section 4.1 "Management Record Types".
_FCGI_GET_VALUES = bytes([1, 9, 0, 0, 0, 16, 0, 0, 14, 0]) + b"FCGI_MAX_CONNS"


def _php_fpm_socket() -> str:
    sockets = sorted(glob.glob("/etc/php/*/fpm/pool.d/www.conf"))
    version = sockets[-1].split("/")[3] if sockets else "8.2"
    return f"/run/php/php{version}-fpm.sock"


def test_php_fpm(real_ns: Factory) -> None:
    require("php8.2-fpm")
    unit = "php8.2-fpm"
    d = real_ns()
    start(d, unit)
    main = check_status(d, unit, "php-fpm8.2", at_least=2)  # master and the pool's workers
    assert 'Status: "Ready to handle connections"' in d.cli("status", unit).stdout

    def answers() -> bool:
        return probe(d, _php_fpm_socket(), _FCGI_GET_VALUES, 8).startswith("\x01\x0a")

    assert answers()
    assert d.cli("reload", unit).returncode == 0  # kill -USR2 $MAINPID
    assert main_pid(d, unit) == main
    d.wait_for(answers, what="php-fpm to answer after USR2")
    assert d.cli("restart", unit).returncode == 0
    assert main_pid(d, unit) != main
    assert answers()
    stop_and_check(d, unit, "/run/php/php8.2-fpm.pid", _php_fpm_socket())
    assert "Reloaded php8.2-fpm.service" in d.journal("-u", unit)  # the name has a dot


# --- squid: Type=notify NotifyAccess=all, Group= only, RuntimeDirectory= (root:proxy) -------


def test_squid(real_ns: Factory) -> None:
    """No restart here: squid waits shutdown_lifetime (30 s) for its clients on SIGTERM,
    under systemd too, and one stop is enough to check."""
    require("squid")
    d = real_ns()
    start(d, "squid")
    main = check_status(d, "squid", "squid", at_least=2)
    assert "squid" in header(http(d, 3128), "Server")
    st = os.stat("/run/squid")  # RuntimeDirectory= owned by User= (root) and Group=proxy
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, _gid("proxy"), 0o775)
    assert d.cli("reload", "squid").returncode == 0  # kill -HUP $MAINPID
    assert main_pid(d, "squid") == main
    wait_answer(d, "squid", lambda: "squid" in header(http(d, 3128), "Server"), "port 3128")
    stop_and_check(d, "squid", "/run/squid.pid", "/run/squid")


# --- varnish: Type=simple, LimitMEMLOCK=, ProtectSystem/PrivateTmp/PrivateDevices ----------


def test_varnish(real_ns: Factory) -> None:
    require("varnish")
    d = real_ns()
    start(d, "varnish")
    # Type=simple: started at once, it listens after compiling its VCL (with cc)
    wait_answer(d, "varnish", lambda: header(http(d, 6081), "Server") == "Varnish", "port 6081")
    main = check_status(d, "varnish", "varnishd", at_least=2)
    assert d.cli("reload", "varnish").returncode == 0  # varnishreload: a new VCL, same manager
    assert main_pid(d, "varnish") == main
    assert "now active" in d.journal("-u", "varnish")
    assert d.cli("restart", "varnish").returncode == 0
    assert main_pid(d, "varnish") != main
    wait_answer(d, "varnish", lambda: header(http(d, 6081), "Server") == "Varnish", "port 6081")
    # KillMode=control-group signals the cache child too; varnishd then exits 64 when it
    # sees its child killed (by hand as well), which systemd counts as a failure
    stop_and_check(d, "varnish", states=("failed/failed",))


# --- mosquitto: Type=notify NotifyAccess=main, ExecStartPre= mkdir/chown, HUP reload --------

# MQTT 3.1.1 CONNECT (clean session, keep-alive 60 s, an arbitrary client id); CONNACK 20 02 00 00.
_MQTT_CONNECT = bytes.fromhex("101000044d5154540402003c000468347431")


def test_mosquitto(real_ns: Factory) -> None:
    require("mosquitto")
    d = real_ns()
    start(d, "mosquitto")
    main = check_status(d, "mosquitto", "mosquitto")
    assert d.uid_of(main) == _uid("mosquitto")  # it drops root itself
    assert probe(d, 1883, _MQTT_CONNECT, 4) == "\x20\x02\x00\x00"
    assert d.cli("reload", "mosquitto").returncode == 0
    assert main_pid(d, "mosquitto") == main
    assert probe(d, 1883, _MQTT_CONNECT, 4) == "\x20\x02\x00\x00"
    assert d.cli("restart", "mosquitto").returncode == 0
    assert main_pid(d, "mosquitto") != main
    assert probe(d, 1883, _MQTT_CONNECT, 4) == "\x20\x02\x00\x00"
    stop_and_check(d, "mosquitto", "/run/mosquitto/mosquitto.pid")


# --- etcd: Type=notify as User=etcd, %H in Environment=, PermissionsStartOnly= --------------


def test_etcd(real_ns: Factory) -> None:
    require("etcd-server")
    d = real_ns()
    start(d, "etcd")
    main = check_status(d, "etcd", "etcd")
    assert d.uid_of(main) == _uid("etcd")
    assert '"etcdserver"' in http(d, 2379, "/version", "GET")
    # ETCD_NAME=%H: the member is named after the host
    assert f"Name:{os.uname().nodename} " in d.journal("-u", "etcd")
    assert d.cli("restart", "etcd").returncode == 0
    assert main_pid(d, "etcd") != main
    assert '"etcdserver"' in http(d, 2379, "/version", "GET")
    stop_and_check(d, "etcd")


# --- more: the units behind this session's fixes, and a non-root server on port 80 ---------


def test_redis_sentinel_private_tmp_under_protect_system_strict(real_ns: Factory) -> None:
    """PrivateTmp=yes with ProtectSystem=strict: the private /tmp stays writable and the
    notify socket reachable (it hung in 'activating' when the bind inherited "ro")."""
    require("redis-sentinel")
    d = real_ns()
    start(d, "redis-sentinel")
    main = check_status(d, "redis-sentinel", "redis-sentinel")
    assert d.uid_of(main) == _uid("redis")
    assert d.in_net("redis-cli", "-p", "26379", "ping").stdout.strip() == "PONG"
    assert d.cli("restart", "redis-sentinel").returncode == 0
    assert main_pid(d, "redis-sentinel") != main
    stop_and_check(d, "redis-sentinel", "/run/sentinel/redis-sentinel.pid", "/run/sentinel")


def test_gearman_job_server_permissions_start_only(real_ns: Factory) -> None:
    """PermissionsStartOnly=true: ExecStartPre=install -d -o gearman /run/gearman runs as
    root, ExecStart= (Type=forking, PIDFile=) as User=gearman."""
    require("gearman-job-server")
    unit = "gearman-job-server"
    d = real_ns()
    start(d, unit)
    main = check_status(d, unit, "gearmand")
    assert d.uid_of(main) == _uid("gearman")
    assert os.stat("/run/gearman").st_uid == _uid("gearman")
    assert probe(d, 4730, b"version\n", 3).startswith("OK ")  # the text admin protocol
    assert d.cli("restart", unit).returncode == 0
    assert main_pid(d, unit) != main
    assert probe(d, 4730, b"version\n", 3).startswith("OK ")
    stop_and_check(d, unit, "/run/gearman/gearmand.pid")


def test_caddy_non_root_on_port_80(real_ns: Factory) -> None:
    """User=caddy with AmbientCapabilities=CAP_NET_BIND_SERVICE serves :80; Type=notify;
    ExecReload= talks to caddy's admin API and keeps the process."""
    require("caddy")
    d = real_ns()
    start(d, "caddy")
    main = check_status(d, "caddy", "caddy")
    assert d.uid_of(main) == _uid("caddy")
    wait_answer(d, "caddy", lambda: header(http(d, 80), "Server") == "Caddy", "port 80")
    assert d.cli("reload", "caddy").returncode == 0
    assert main_pid(d, "caddy") == main
    assert header(http(d, 80), "Server") == "Caddy"
    assert d.cli("restart", "caddy").returncode == 0
    assert main_pid(d, "caddy") != main
    wait_answer(d, "caddy", lambda: header(http(d, 80), "Server") == "Caddy", "port 80")
    stop_and_check(d, "caddy")


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


def _gid(name: str) -> int:
    import grp

    return grp.getgrnam(name).gr_gid
